"""Benchmarks (``make bench``): figures as a table and as JSON; never timed tests."""
