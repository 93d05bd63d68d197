"""ApiCredentials: the key and the secret never shown whole."""

from __future__ import annotations

import pickle

import pytest

from adapters.brokers.binance.credentials import ApiCredentials
from adapters.brokers.binance.signing import HmacSigner
from tests.unit.adapters.brokers.binance.payloads import API_KEY, SECRET


def test_repr_and_str_hide_the_key_and_the_secret() -> None:
    credentials = ApiCredentials(API_KEY, HmacSigner(SECRET))

    for shown in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert API_KEY not in shown
        assert SECRET not in shown
    assert credentials.hint == "vmPU…h8A"
    assert "vmPU…h8A" in repr(credentials)


def test_it_signs_with_its_secret_and_redacts_its_key() -> None:
    credentials = ApiCredentials(API_KEY, HmacSigner(SECRET))

    assert credentials.sign("a=1") == HmacSigner(SECRET).sign("a=1")
    assert credentials.kind == "hmac"
    assert credentials.redact(f"key {API_KEY}&signature=ff00") == "key vmPU…h8A&signature=<redacted>"


def test_credentials_are_not_pickled() -> None:
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(ApiCredentials(API_KEY, HmacSigner(SECRET)))


@pytest.mark.parametrize(("key", "problem"), [("", "empty"), ("abc def", "spaces"), ("clé", "non-ASCII")])
def test_a_bad_key_is_refused_without_repeating_it(key: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        ApiCredentials(key, HmacSigner(SECRET))
    if key:
        assert key not in str(raised.value)
