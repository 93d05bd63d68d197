"""Implementations of the application ports: exchanges, brokers, persistence, Redis, memory."""
