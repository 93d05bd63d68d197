"""The keystore file: round trips, refusals, tampering, and no secret anywhere in clear."""

from __future__ import annotations

import base64
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.keystore.errors import (
    CorruptKeystore,
    InvalidInput,
    KeystoreError,
    UnknownVenue,
    VenueExists,
    WrongPassphrase,
)
from adapters.keystore.keystore import Keystore
from adapters.keystore.secret import Secret
from tests.unit.adapters.keystore.samples import (
    API_KEY,
    OTHER_KEY,
    OTHER_SECRET,
    PASSPHRASE,
    SECRET,
    fast_keystore,
)

TOKEN_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16, max_size=200
)


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return fast_keystore(tmp_path / "config" / "tradeplane" / "keys.json")


def _document(keystore: Keystore) -> Any:
    return json.loads(keystore.path.read_bytes())


def _write_document(keystore: Keystore, document: object) -> None:
    keystore.path.write_text(json.dumps(document))


def test_a_round_trip(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    api_key, secret = keystore.get("binance", PASSPHRASE)
    assert api_key == API_KEY
    assert isinstance(secret, Secret)
    assert secret.reveal() == SECRET


def test_secrets_and_passphrases_may_come_wrapped(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, Secret(SECRET), Secret(PASSPHRASE))
    assert keystore.get("binance", Secret(PASSPHRASE))[1].reveal() == SECRET


def test_entries_are_per_venue_and_listing_needs_no_passphrase(keystore: Keystore) -> None:
    assert keystore.venues() == []
    keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, "another passphrase")
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    assert keystore.venues() == ["binance", "binance:testnet"]
    assert "binance" in keystore
    assert "kraken" not in keystore
    assert keystore.get("binance:testnet", "another passphrase")[1].reveal() == OTHER_SECRET
    assert keystore.get("binance", PASSPHRASE)[1].reveal() == SECRET


def test_adding_again_needs_replace(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    with pytest.raises(VenueExists, match="--replace"):
        keystore.add("binance", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    assert keystore.get("binance", PASSPHRASE)[0] == API_KEY
    keystore.add("binance", OTHER_KEY, OTHER_SECRET, "a new passphrase", replace=True)
    assert keystore.get("binance", "a new passphrase") == (OTHER_KEY, Secret(OTHER_SECRET))


def test_remove_forgets_one_venue_only(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    keystore.remove("binance")
    assert keystore.venues() == ["binance:testnet"]
    with pytest.raises(UnknownVenue, match="tradeplane keys add binance"):
        keystore.get("binance", PASSPHRASE)
    with pytest.raises(UnknownVenue):
        keystore.remove("binance")


def test_a_missing_file_or_directory_has_no_venues(tmp_path: Path) -> None:
    keystore = fast_keystore(tmp_path / "nowhere" / "keys.json")
    assert keystore.venues() == []
    with pytest.raises(UnknownVenue, match=r"holds no keys for binance"):
        keystore.get("binance", PASSPHRASE)
    with pytest.raises(UnknownVenue):
        keystore.remove("binance")
    assert not (tmp_path / "nowhere").exists()


def test_a_wrong_passphrase_is_one_clear_error(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    with pytest.raises(WrongPassphrase, match="wrong passphrase or corrupted keystore") as refused:
        keystore.get("binance", "not the passphrase")
    assert str(keystore.path) in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_tampered_ciphertext_is_refused(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    document = _document(keystore)
    entry = document["entries"]["binance"]
    ciphertext = bytearray(base64.b64decode(str(entry["ciphertext"])))
    ciphertext[3] ^= 0x01
    entry["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    _write_document(keystore, document)
    with pytest.raises(WrongPassphrase, match="wrong passphrase or corrupted keystore"):
        keystore.get("binance", PASSPHRASE)


def test_entries_swapped_between_venues_are_refused(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    keystore.add("binance:testnet", OTHER_KEY, OTHER_SECRET, PASSPHRASE)
    document = _document(keystore)
    entries = document["entries"]
    entries["binance"], entries["binance:testnet"] = entries["binance:testnet"], entries["binance"]
    _write_document(keystore, document)
    for venue in ("binance", "binance:testnet"):
        with pytest.raises(WrongPassphrase):
            keystore.get(venue, PASSPHRASE)


def test_an_entry_copied_under_a_new_venue_name_is_refused(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    document = _document(keystore)
    document["entries"]["kraken"] = document["entries"]["binance"]
    _write_document(keystore, document)
    with pytest.raises(WrongPassphrase):
        keystore.get("kraken", PASSPHRASE)


def test_a_lowered_scrypt_cost_in_the_file_does_not_decrypt(keystore: Keystore) -> None:
    Keystore(keystore.path, scrypt_n=2**11).add("binance", API_KEY, SECRET, PASSPHRASE)
    document = _document(keystore)
    document["entries"]["binance"]["n"] = 2**10
    _write_document(keystore, document)
    with pytest.raises(WrongPassphrase):
        keystore.get("binance", PASSPHRASE)


def test_entries_are_read_with_the_cost_they_were_written_with(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    assert Keystore(keystore.path).get("binance", PASSPHRASE)[0] == API_KEY


def test_a_format_version_is_stored(keystore: Keystore) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    document = _document(keystore)
    assert document["format"] == "tradeplane-keystore"
    assert document["version"] == 1
    assert document["entries"]["binance"]["kdf"] == "scrypt"
    assert document["entries"]["binance"]["cipher"] == "aes-256-gcm"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe garbage", "not JSON"),
        (b'{"format": "tradeplane-keysto', "not JSON"),
        (b"[]", "no tradeplane-keystore marker"),
        (b'{"accounts": {}}', "no tradeplane-keystore marker"),
        (b'{"format": "tradeplane-keystore", "version": 2, "entries": {}}', "newer tradeplane"),
        (b'{"format": "tradeplane-keystore", "version": "1", "entries": {}}', "format version is not 1"),
        (b'{"format": "tradeplane-keystore", "version": 1}', "no entries"),
        (b'{"format": "tradeplane-keystore", "version": 1, "entries": {"../x": {}}}', "invalid venue name"),
        (b'{"format": "tradeplane-keystore", "version": 1, "entries": {"binance": 3}}', "exactly the fields"),
    ],
)
def test_a_corrupted_or_foreign_file_is_named(keystore: Keystore, content: bytes, why: str) -> None:
    keystore.path.parent.mkdir(parents=True)
    keystore.path.write_bytes(content)
    for attempt in (keystore.venues, lambda: keystore.get("binance", PASSPHRASE)):
        with pytest.raises(CorruptKeystore, match="is not a usable tradeplane keystore") as refused:
            attempt()
        assert str(keystore.path) in str(refused.value)
        assert why in str(refused.value)
    with pytest.raises(CorruptKeystore):
        keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    assert keystore.path.read_bytes() == content  # never overwritten by a fresh file


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("kdf", "pbkdf2", "unknown key derivation"),
        ("cipher", "aes-128-cbc", "unknown key derivation or cipher"),
        ("n", 2**30, "unusable scrypt parameters"),
        ("n", 1000, "unusable scrypt parameters"),
        ("r", "8", "unusable scrypt parameters"),
        ("salt", "c2FsdA==", "16-byte base64 salt"),
        ("salt", "not base64!", "16-byte base64 salt"),
        ("nonce", 12, "12-byte base64 nonce"),
        ("ciphertext", "", "base64 ciphertext"),
    ],
)
def test_a_malformed_entry_is_named(keystore: Keystore, field: str, value: object, why: str) -> None:
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    document = _document(keystore)
    document["entries"]["binance"][field] = value
    _write_document(keystore, document)
    with pytest.raises(CorruptKeystore, match="entry for 'binance'") as refused:
        keystore.get("binance", PASSPHRASE)
    assert why in str(refused.value)
    assert str(keystore.path) in str(refused.value)


def test_a_huge_file_is_refused_without_being_read_whole(keystore: Keystore) -> None:
    keystore.path.parent.mkdir(parents=True)
    keystore.path.write_bytes(b" " * (2 << 20))
    with pytest.raises(CorruptKeystore, match="larger than"):
        keystore.venues()


def test_a_directory_in_place_of_the_file_is_a_clear_error(keystore: Keystore) -> None:
    keystore.path.mkdir(parents=True)
    with pytest.raises(KeystoreError, match="cannot read the keystore"):
        keystore.venues()


@pytest.mark.parametrize("venue", ["../evil", "a/b", "/abs", "BINANCE", "", "x" * 100])
def test_hostile_venue_names_are_refused_everywhere(keystore: Keystore, venue: str) -> None:
    for attempt in (
        lambda: keystore.add(venue, API_KEY, SECRET, PASSPHRASE),
        lambda: keystore.get(venue, PASSPHRASE),
        lambda: keystore.remove(venue),
    ):
        with pytest.raises(InvalidInput, match="venue name"):
            attempt()
    assert not keystore.path.parent.exists()


@pytest.mark.parametrize(
    ("api_key", "secret", "passphrase", "field"),
    [
        ("", SECRET, PASSPHRASE, "API key"),
        (API_KEY, "", PASSPHRASE, "API secret"),
        (API_KEY, SECRET + "\n", PASSPHRASE, "API secret"),
        (API_KEY, SECRET + "\x00", PASSPHRASE, "API secret"),
        (API_KEY, "s" * 1_000_000, PASSPHRASE, "API secret"),
        ("k" * 1_000_000, SECRET, PASSPHRASE, "API key"),
        (API_KEY, SECRET, "short", "passphrase"),
        (API_KEY, SECRET, "", "passphrase"),
    ],
)
def test_hostile_values_are_refused_before_anything_is_written(
    keystore: Keystore, api_key: str, secret: str, passphrase: str, field: str
) -> None:
    with pytest.raises(InvalidInput, match=field) as refused:
        keystore.add("binance", api_key, secret, passphrase)
    assert SECRET not in str(refused.value)
    assert not keystore.path.exists()


def test_a_bad_scrypt_cost_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scrypt_n"):
        Keystore(tmp_path / "keys.json", scrypt_n=1000)


def test_no_secret_in_the_file_the_logs_the_reprs_or_the_errors(
    keystore: Keystore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keystore.add("binance", API_KEY, SECRET, PASSPHRASE)
    api_key, secret = keystore.get("binance", PASSPHRASE)
    errors = []
    for attempt in (
        lambda: keystore.get("binance", "wrong passphrase"),
        lambda: keystore.add("binance", API_KEY, SECRET, PASSPHRASE),
        lambda: keystore.add("binance:x", API_KEY, SECRET + "\n", PASSPHRASE),
    ):
        with pytest.raises(KeystoreError) as failed:
            attempt()
        errors.append(failed.value)
    contents = keystore.path.read_bytes()
    rendered = [caplog.text, repr(keystore), str(secret), repr(secret), repr((api_key, secret))]
    rendered += [str(error) for error in errors] + [repr(error) for error in errors]
    rendered += [repr(record.args) for record in caplog.records]
    for value in (SECRET, PASSPHRASE):
        assert value.encode() not in contents
        assert all(value not in text for text in rendered)
    assert API_KEY.encode() not in contents  # the key is sealed along with the secret
    assert API_KEY not in caplog.text


@given(api_key=TOKEN_TEXT, secret=TOKEN_TEXT, passphrase=st.text(min_size=8, max_size=64))
def test_any_credentials_round_trip_and_never_appear_in_the_file(
    api_key: str, secret: str, passphrase: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        keystore = fast_keystore(Path(directory) / "keys.json")
        keystore.add("binance", api_key, secret, passphrase)
        contents = keystore.path.read_bytes()
        entry = json.loads(contents)["entries"]["binance"]
        ciphertext = base64.b64decode(entry["ciphertext"])
        assert keystore.get("binance", passphrase) == (api_key, Secret(secret))
    assert secret.encode() not in contents
    assert secret.encode() not in ciphertext
    assert api_key.encode() not in ciphertext
