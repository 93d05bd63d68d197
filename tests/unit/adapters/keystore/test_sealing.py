"""Sealing: what is authenticated (venue, version, cost, salt, nonce) and what scrypt costs are allowed."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keystore.errors import WrongPassphrase
from adapters.keystore.sealing import (
    DEFAULT_SCRYPT_N,
    MIN_SCRYPT_N,
    ScryptCost,
    associated_data,
    seal,
    unseal,
)
from tests.unit.adapters.keystore.samples import API_KEY, PASSPHRASE, SECRET

CHEAP = ScryptCost(n=MIN_SCRYPT_N)


def test_the_default_cost_is_the_recommended_one() -> None:
    assert (DEFAULT_SCRYPT_N, ScryptCost(n=DEFAULT_SCRYPT_N).r, ScryptCost(n=DEFAULT_SCRYPT_N).p) == (
        2**15,
        8,
        1,
    )


def test_a_round_trip() -> None:
    sealed = seal("binance", API_KEY, SECRET, PASSPHRASE, CHEAP)
    assert unseal("binance", sealed, PASSPHRASE) == (API_KEY, SECRET)
    assert (len(sealed.salt), len(sealed.nonce)) == (16, 12)
    assert SECRET.encode() not in sealed.ciphertext
    assert SECRET not in repr(sealed)


def test_every_sealing_draws_a_new_salt_and_nonce() -> None:
    first, second = (seal("binance", API_KEY, SECRET, PASSPHRASE, CHEAP) for _ in range(2))
    assert first.salt != second.salt
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_the_venue_is_authenticated() -> None:
    sealed = seal("binance", API_KEY, SECRET, PASSPHRASE, CHEAP)
    assert associated_data("binance") != associated_data("binance:testnet")
    with pytest.raises(WrongPassphrase, match="wrong passphrase or corrupted keystore"):
        unseal("binance:testnet", sealed, PASSPHRASE)


@pytest.mark.parametrize(
    "change",
    [
        {"salt": bytes(16)},
        {"nonce": bytes(12)},
        {"cost": ScryptCost(n=MIN_SCRYPT_N * 2)},
    ],
)
def test_changing_anything_stored_beside_the_ciphertext_breaks_decryption(change: dict[str, object]) -> None:
    sealed = dataclasses.replace(seal("binance", API_KEY, SECRET, PASSPHRASE, CHEAP), **change)  # type: ignore[arg-type]
    with pytest.raises(WrongPassphrase):
        unseal("binance", sealed, PASSPHRASE)


@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_ciphertext_bit_is_detected(position: int, bit: int) -> None:
    sealed = seal("binance", API_KEY, SECRET, PASSPHRASE, CHEAP)
    tampered = bytearray(sealed.ciphertext)
    tampered[position % len(tampered)] ^= 1 << bit
    with pytest.raises(WrongPassphrase):
        unseal("binance", dataclasses.replace(sealed, ciphertext=bytes(tampered)), PASSPHRASE)


@pytest.mark.parametrize(
    ("n", "r", "p"),
    [(MIN_SCRYPT_N // 2, 8, 1), (3000, 8, 1), (2**21, 8, 1), (2**20, 16, 1), (2**15, 0, 1), (2**15, 8, 0)],
)
def test_unusable_costs_are_refused(n: int, r: int, p: int) -> None:
    with pytest.raises(ValueError, match="scrypt"):
        ScryptCost(n=n, r=r, p=p).checked()


def test_a_boolean_is_not_a_cost() -> None:
    with pytest.raises(ValueError, match="integer"):
        ScryptCost(n=2**15, r=True).checked()
