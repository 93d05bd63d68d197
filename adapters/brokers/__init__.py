"""Broker adapters: implementations of the ``Broker`` port (the paper broker; real venues later)."""
