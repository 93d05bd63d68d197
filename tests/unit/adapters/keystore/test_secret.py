"""``Secret`` shows itself only through ``reveal``; ``mask`` shows too little of a key to use it."""

from __future__ import annotations

import copy
import json
import logging
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keystore.secret import Secret, mask
from tests.unit.adapters.keystore.samples import API_KEY, SECRET


def test_every_accidental_rendering_is_a_placeholder(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(SECRET)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").debug("secret %s %r in %s", secret, secret, [secret, {"s": secret}])
    rendered = [str(secret), repr(secret), f"{secret}", f"{secret!r}", f"{secret:>20}", str((secret,))]
    assert all(SECRET not in text for text in rendered)
    assert str(secret) == repr(secret) == "<secret>"
    assert SECRET not in caplog.text
    assert secret.reveal() == SECRET


def test_it_cannot_be_serialised_or_copied_in_clear() -> None:
    secret = Secret(SECRET)
    for write in (pickle.dumps, copy.copy, copy.deepcopy, json.dumps):
        with pytest.raises(TypeError) as refused:
            write(secret)
        assert SECRET not in str(refused.value)


def test_equality_is_by_value_and_hashing_is_refused() -> None:
    assert Secret(SECRET) == Secret(SECRET)
    assert Secret(SECRET) != Secret(SECRET + "x")
    assert Secret(SECRET) != SECRET
    with pytest.raises(TypeError):
        hash(Secret(SECRET))


def test_only_text_is_wrapped() -> None:
    with pytest.raises(TypeError, match="str"):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_mask_shows_the_ends_of_a_key() -> None:
    assert mask(API_KEY) == "vmPU…h8A"


@given(st.text(min_size=0, max_size=15))
def test_mask_shows_nothing_of_a_short_key(key: str) -> None:
    assert mask(key) == "…"


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16, max_size=128))
def test_mask_never_shows_more_than_seven_characters(key: str) -> None:
    shown = mask(key)
    assert len(shown.replace("…", "")) == 7
    assert shown.startswith(key[:4])
    assert shown.endswith(key[-3:])
