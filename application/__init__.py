"""Use cases between the domain and the outside world: ports, bus, commands, engine services.

Imports ``domain`` and the standard library only; adapters plug in through the
``typing.Protocol`` ports of ``application.ports`` (docs/architecture.md draws the whole map).
"""
