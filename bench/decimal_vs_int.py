"""Decimal against scaled integers for the operations the engine does per event.

This is the measurement behind the choice in domain/values.py.
"""

from __future__ import annotations

from decimal import Decimal

from bench.harness import Result, ns_per_call

SUITE = "decimal_vs_int"
_PRICE = "25123.45000000"
_QTY = "0.01234000"
_SCALE = 10**8


def _parse_scaled(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * _SCALE + int(frac.ljust(8, "0")[:8])


def run() -> list[Result]:
    dp, dq = Decimal(_PRICE), Decimal(_QTY)
    ip, iq = _parse_scaled(_PRICE), _parse_scaled(_QTY)

    def parse_decimal(n: int) -> None:
        for _ in range(n):
            Decimal(_PRICE)

    def parse_int(n: int) -> None:
        for _ in range(n):
            _parse_scaled(_PRICE)

    def notional_decimal(n: int) -> None:
        total = Decimal(0)
        for _ in range(n):
            total += dp * dq

    def notional_int(n: int) -> None:
        total = 0
        for _ in range(n):
            total += ip * iq // _SCALE

    def compare_decimal(n: int) -> None:
        for _ in range(n):
            _ = dp > dq

    def compare_int(n: int) -> None:
        for _ in range(n):
            _ = ip > iq

    n = 200_000
    return [
        Result(SUITE, "parse decimal string -> Decimal", ns_per_call(parse_decimal, n), "ns/op"),
        Result(SUITE, "parse decimal string -> scaled int", ns_per_call(parse_int, n), "ns/op"),
        Result(SUITE, "notional += price*qty (Decimal)", ns_per_call(notional_decimal, n), "ns/op"),
        Result(SUITE, "notional += price*qty (scaled int)", ns_per_call(notional_int, n), "ns/op"),
        Result(SUITE, "compare (Decimal)", ns_per_call(compare_decimal, n), "ns/op"),
        Result(SUITE, "compare (scaled int)", ns_per_call(compare_int, n), "ns/op"),
    ]
