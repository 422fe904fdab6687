"""The OKR domain: value types and the pure rules that evaluate them.

Nothing in here performs I/O or reads the clock; an import-linter contract
keeps frameworks out. Callers pass ``now`` and get new frozen values back.
"""
