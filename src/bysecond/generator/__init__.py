"""Deterministic generation of a realistic platform month, for the demo and benchmarks."""
