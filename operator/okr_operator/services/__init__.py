"""Orchestration of the pure domain over ports (no framework, no I/O of its own)."""
