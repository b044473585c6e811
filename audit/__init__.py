"""Audit: the per-organization keyed hash chain, its verification and checkpoints."""
