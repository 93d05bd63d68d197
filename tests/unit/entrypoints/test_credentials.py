"""Credentials for a venue: environment variables first, else the keystore and its passphrase."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from adapters.keystore.secret import Secret
from entrypoints.credentials import CredentialsError, credential_variables, resolve_credentials
from tests.unit.adapters.keystore.samples import (
    API_KEY,
    OTHER_KEY,
    OTHER_SECRET,
    PASSPHRASE,
    SECRET,
    fast_keystore,
)
from tests.unit.entrypoints.terminal import ClosedTerminal, ScriptedPrompt


@pytest.fixture
def keystore_path(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    fast_keystore(path).add("binance", API_KEY, SECRET, PASSPHRASE)
    return path


def test_variable_names_follow_the_venue() -> None:
    assert credential_variables("binance") == ("TRADEPLANE_BINANCE_API_KEY", "TRADEPLANE_BINANCE_API_SECRET")
    assert credential_variables("binance:testnet") == (
        "TRADEPLANE_BINANCE_TESTNET_API_KEY",
        "TRADEPLANE_BINANCE_TESTNET_API_SECRET",
    )


def test_the_environment_wins_and_no_keystore_is_opened(tmp_path: Path) -> None:
    environ = {"TRADEPLANE_BINANCE_API_KEY": OTHER_KEY, "TRADEPLANE_BINANCE_API_SECRET": OTHER_SECRET}
    prompt = ScriptedPrompt()
    api_key, secret = resolve_credentials(
        "binance", keystore_path=tmp_path / "absent.json", environ=environ, prompt=prompt, interactive=True
    )
    assert (api_key, secret) == (OTHER_KEY, Secret(OTHER_SECRET))
    assert isinstance(secret, Secret)
    assert prompt.asked == []
    assert not (tmp_path / "absent.json").exists()


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ("TRADEPLANE_BINANCE_API_KEY", "TRADEPLANE_BINANCE_API_SECRET"),
        ("TRADEPLANE_BINANCE_API_SECRET", "TRADEPLANE_BINANCE_API_KEY"),
    ],
)
def test_one_variable_without_the_other_names_the_missing_one(
    keystore_path: Path, present: str, missing: str
) -> None:
    with pytest.raises(CredentialsError, match=f"{present} is set but {missing} is not") as refused:
        resolve_credentials("binance", keystore_path=keystore_path, environ={present: SECRET})
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("api_key", "secret", "named", "why"),
    [
        ("", SECRET, "TRADEPLANE_BINANCE_API_KEY", "empty"),
        (API_KEY, "", "TRADEPLANE_BINANCE_API_SECRET", "empty"),
        (API_KEY, SECRET + "\n", "TRADEPLANE_BINANCE_API_SECRET", "line break"),
        (API_KEY + "\x00", SECRET, "TRADEPLANE_BINANCE_API_KEY", "NUL"),
    ],
)
def test_bad_values_in_the_environment_name_the_variable_not_the_value(
    api_key: str, secret: str, named: str, why: str
) -> None:
    environ = {"TRADEPLANE_BINANCE_API_KEY": api_key, "TRADEPLANE_BINANCE_API_SECRET": secret}
    with pytest.raises(CredentialsError, match=named) as refused:
        resolve_credentials("binance", environ=environ)
    assert why in str(refused.value)
    assert SECRET not in str(refused.value)
    assert API_KEY not in str(refused.value)


def test_the_keystore_with_the_passphrase_from_the_environment(keystore_path: Path) -> None:
    prompt = ScriptedPrompt()
    environ = {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    api_key, secret = resolve_credentials(
        "binance", keystore_path=keystore_path, environ=environ, prompt=prompt, interactive=True
    )
    assert (api_key, secret.reveal()) == (API_KEY, SECRET)
    assert prompt.asked == []


def test_the_keystore_path_may_come_from_the_environment(keystore_path: Path) -> None:
    environ = {"TRADEPLANE_KEYSTORE": str(keystore_path), "TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    assert resolve_credentials("binance", environ=environ)[0] == API_KEY


def test_at_a_terminal_the_passphrase_is_asked_once(keystore_path: Path) -> None:
    prompt = ScriptedPrompt(PASSPHRASE)
    api_key, secret = resolve_credentials(
        "binance", keystore_path=keystore_path, environ={}, prompt=prompt, interactive=True
    )
    assert (api_key, secret.reveal()) == (API_KEY, SECRET)
    assert len(prompt.asked) == 1
    assert str(keystore_path) in prompt.asked[0]


def test_without_a_terminal_nothing_is_asked_and_the_error_says_how_to_give_it(
    keystore_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSPHRASE + "\n"))
    prompt = ScriptedPrompt(PASSPHRASE)
    with pytest.raises(CredentialsError, match=r"no terminal.*TRADEPLANE_KEYSTORE_PASSPHRASE"):
        resolve_credentials("binance", keystore_path=keystore_path, environ={}, prompt=prompt)
    assert prompt.asked == []


def test_a_closed_terminal_is_a_clear_error(keystore_path: Path) -> None:
    with pytest.raises(CredentialsError, match="no passphrase given"):
        resolve_credentials(
            "binance", keystore_path=keystore_path, environ={}, prompt=ClosedTerminal(), interactive=True
        )


def test_no_keys_anywhere_says_how_to_add_them(tmp_path: Path) -> None:
    prompt = ScriptedPrompt()
    with pytest.raises(CredentialsError, match="`tradeplane keys add binance`") as refused:
        resolve_credentials(
            "binance", keystore_path=tmp_path / "keys.json", environ={}, prompt=prompt, interactive=True
        )
    assert "TRADEPLANE_BINANCE_API_KEY" in str(refused.value)
    assert prompt.asked == []  # no passphrase asked for a keystore without the venue


def test_a_wrong_passphrase(keystore_path: Path) -> None:
    with pytest.raises(CredentialsError, match="wrong passphrase or corrupted keystore") as refused:
        resolve_credentials(
            "binance", keystore_path=keystore_path, environ={"TRADEPLANE_KEYSTORE_PASSPHRASE": "nope nope"}
        )
    assert "TRADEPLANE_KEYSTORE_PASSPHRASE" in str(refused.value)
    assert refused.value.__cause__ is None


def test_a_corrupted_keystore_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{}")
    with pytest.raises(CredentialsError, match=f"{path} is not a usable tradeplane keystore"):
        resolve_credentials("binance", keystore_path=path, environ={})


@pytest.mark.parametrize("venue", ["../binance", "Binance", "a/b", ""])
def test_a_bad_venue_name(venue: str) -> None:
    with pytest.raises(CredentialsError, match="venue name"):
        resolve_credentials(venue, environ={})


def test_no_secret_in_logs_or_errors(keystore_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api_key, secret = resolve_credentials(
        "binance", keystore_path=keystore_path, environ={"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    )
    failures = []
    for environ in (
        {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE + "x"},
        {"TRADEPLANE_BINANCE_API_SECRET": SECRET},
        {"TRADEPLANE_BINANCE_API_KEY": API_KEY, "TRADEPLANE_BINANCE_API_SECRET": SECRET + " "},
    ):
        with pytest.raises(CredentialsError) as failed:
            resolve_credentials("binance", keystore_path=keystore_path, environ=environ)
        failures.append(failed.value)
    rendered = [caplog.text, repr((api_key, secret))] + [f"{error} {error!r}" for error in failures]
    for value in (SECRET, PASSPHRASE):
        assert all(value not in text for text in rendered)
