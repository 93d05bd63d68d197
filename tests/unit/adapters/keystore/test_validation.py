"""Hostile or mistaken input is refused with a message naming the field, never echoing a secret."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from adapters.keystore.errors import InvalidInput
from adapters.keystore.validation import (
    MAX_API_KEY,
    MAX_SECRET,
    check_api_key,
    check_passphrase,
    check_secret,
    check_venue,
)
from tests.unit.adapters.keystore.samples import API_KEY, SECRET


@pytest.mark.parametrize("venue", ["binance", "binance:testnet", "kraken-2", "b_1:acct-2"])
def test_venue_names(venue: str) -> None:
    assert check_venue(venue) == venue


@pytest.mark.parametrize(
    "venue",
    [
        "",
        "../binance",
        "bin/ance",
        "bin\\ance",
        "/etc/passwd",
        "Binance",
        "binance:",
        ":testnet",
        "binance:test:net",
        "binance testnet",
        "binance\x00",
        "binance\n",
        ".binance",
        "-binance",
        "b" * 33,
    ],
)
def test_bad_venue_names_are_refused(venue: str) -> None:
    with pytest.raises(InvalidInput, match=r"venue name .* is not valid"):
        check_venue(venue)


def test_a_huge_venue_name_is_shown_truncated() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_venue("x" * 10_000)
    assert len(str(refused.value)) < 300


@pytest.mark.parametrize(
    ("api_key", "why"),
    [
        ("", "is empty"),
        (API_KEY + "\n", "line break"),
        (" " + API_KEY, "space"),
        (API_KEY[:10] + "\x00" + API_KEY[10:], "NUL"),
        (API_KEY + "é", "non-ASCII"),
        ("k" * (MAX_API_KEY + 1), f"longer than {MAX_API_KEY}"),
    ],
)
def test_bad_api_keys_are_refused_without_being_echoed(api_key: str, why: str) -> None:
    with pytest.raises(InvalidInput, match="the API key") as refused:
        check_api_key(api_key)
    assert why in str(refused.value)
    assert API_KEY not in str(refused.value)


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("", "is empty"),
        (SECRET + "\n", "line break"),
        (SECRET + "\r\n", "line break"),
        (SECRET[:5] + "\x00" + SECRET[5:], "NUL"),
        (SECRET + "\t", "control"),
        ("s" * (MAX_SECRET + 1), f"longer than {MAX_SECRET}"),
        ("-----BEGIN PRIVATE KEY-----\n" + SECRET, "not one"),
        ("-----BEGIN PRIVATE KEY-----\n\x00\n-----END PRIVATE KEY-----\n", "NUL"),
        ("-----BEGIN PRIVATE KEY-----\n" + "A" * MAX_SECRET + "\n-----END PRIVATE KEY-----\n", "longer"),
    ],
)
def test_bad_secrets_are_refused_without_being_echoed(secret: str, why: str) -> None:
    with pytest.raises(InvalidInput, match="the API secret") as refused:
        check_secret(secret)
    assert why in str(refused.value)
    assert SECRET not in str(refused.value)


def test_an_hmac_secret_and_a_pem_private_key_are_accepted() -> None:
    pem = (
        Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    )
    assert check_secret(SECRET) == SECRET
    assert check_secret(pem) == pem
    assert check_secret(pem.rstrip("\n")) == pem.rstrip("\n")


def test_passphrases() -> None:
    assert check_passphrase("eight ch", new=True) == "eight ch"
    assert check_passphrase("short", new=False) == "short"  # only new ones have a minimum
    with pytest.raises(InvalidInput, match="at least 8"):
        check_passphrase("short", new=True)
    with pytest.raises(InvalidInput, match="empty"):
        check_passphrase("", new=False)
    with pytest.raises(InvalidInput, match="longer than"):
        check_passphrase("p" * 5000, new=False)
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        check_passphrase("passphrase\ud800", new=True)
