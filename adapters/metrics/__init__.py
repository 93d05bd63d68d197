"""Prometheus metrics of a running engine: counted cheaply on the hot path, read at scrape time.

``recorder`` counts what happens (market events, orders, fills, latencies) with plain ints and
bucket arrays, no locks and no prometheus_client on the per-tick path; ``collector`` turns those
counts and the engine's own state into metric families when Prometheus scrapes; ``http``
serves ``/metrics``, ``/healthz`` and ``/readyz``; ``settings`` reads ``[metrics]``.
"""
