"""bysecond's benchmarks: `python -m bench` runs the whole harness (see bench/harness)."""
