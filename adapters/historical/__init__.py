"""Historical market data files read as domain events: the backtester's input.

Binance's public dumps (data.binance.vision) are supported: trades and klines, as .csv,
.csv.gz or .zip; :func:`merge_events` interleaves several files into one time-ordered stream.
"""

from adapters.historical.binance_csv import read_binance_csv, read_klines, read_trades
from adapters.historical.errors import HistoricalDataError, Problem, ReadStats
from adapters.historical.files import BinanceFileName, instrument_id_from_file_name, parse_binance_file_name
from adapters.historical.layout import DataKind, TimeUnit, time_unit_of
from adapters.historical.merge import merge_events, read_merged

__all__ = [
    "BinanceFileName",
    "DataKind",
    "HistoricalDataError",
    "Problem",
    "ReadStats",
    "TimeUnit",
    "instrument_id_from_file_name",
    "merge_events",
    "parse_binance_file_name",
    "read_binance_csv",
    "read_klines",
    "read_merged",
    "read_trades",
    "time_unit_of",
]
