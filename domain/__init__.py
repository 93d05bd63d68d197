"""The pure core of tradeplane: instruments, market data, orders, positions, risk, signals.

Nothing here performs I/O or reads the wall clock; time always arrives as integer
nanoseconds inside the events. Prices, quantities and money are ``decimal.Decimal``.
"""
