"""Benchmarks (``make bench``): measured figures, printed as a table and saved as JSON. Never timed tests."""
