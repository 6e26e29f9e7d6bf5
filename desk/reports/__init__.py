"""The monthly SLA report: the engine's figures for a contract and month, in every format."""
