"""Fault tickets and the incidents they report."""
