"""The backtest use case: recorded history replayed through the live engine, measured, reported.

- ``spec``: what to run (``BacktestSpec``), the error a run refuses with, the checks of inputs;
- ``settings``: the engine configuration a run builds;
- ``history``: where a run's events come from (history files or the market-data store);
- ``run``: one run, start to end (``run_backtest``);
- ``outcome``: what a finished run gives, as JSON and as a report;
- ``sweep``: parameter grids run across processes and ranked;
- ``stored_runs``: the runs kept in a database;
- ``report``, ``charts``, ``formatting``: the HTML report, its PNG charts, the terminal table.

The command line (``entrypoints.commands.backtest``), the gRPC ``BacktestService`` and the
benchmarks all use this package; it imports none of them.
"""
