"""Binance Spot trading: signed REST and WebSocket API requests behind the ``Broker`` port.

Import the pieces from their modules; importing this package does nothing else.
"""
