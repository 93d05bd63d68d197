"""Use cases between the domain and the outside world: ports, bus, engine services.

Imports ``domain`` and the standard library only; adapters plug in through the
``typing.Protocol`` ports defined here (see ../shared/DESIGN.md).
"""
