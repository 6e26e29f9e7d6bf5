"""Contracts as data: loaded from config/contracts/*.toml, one file a contract."""
