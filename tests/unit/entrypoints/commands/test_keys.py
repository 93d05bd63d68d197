"""`tradeplane keys`: add, list, check and remove, with a scripted terminal and never a secret shown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from adapters.keystore.keystore import Keystore
from entrypoints.cli import build_parser, main
from entrypoints.commands import keys
from entrypoints.credentials import Prompt
from tests.unit.adapters.keystore.samples import API_KEY, OTHER_KEY, OTHER_SECRET, PASSPHRASE, SECRET
from tests.unit.entrypoints.terminal import InterruptedTerminal, ScriptedPrompt

MASKED = "vmPU…h8A"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "keys.json"


def keys_command(
    argv: list[str], *, path: Path, prompt: Prompt | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """``tradeplane keys ARGV`` as the command line parses it, with this terminal and environment."""
    args = build_parser().parse_args(["keys", *argv, "--keystore", str(path)])
    return keys.run(args, prompt=prompt, environ=environ or {})


def _no_secret_in(text: str) -> None:
    for value in (SECRET, PASSPHRASE, API_KEY, OTHER_SECRET, OTHER_KEY):
        assert value not in text


def test_add_list_check_remove_through_the_command_line(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = ScriptedPrompt(API_KEY, SECRET, PASSPHRASE, PASSPHRASE, PASSPHRASE)
    monkeypatch.setattr(keys, "terminal_prompt", lambda: terminal)
    monkeypatch.setenv("TRADEPLANE_KEYSTORE", str(path))
    for name in (
        "TRADEPLANE_KEYSTORE_PASSPHRASE",
        "TRADEPLANE_BINANCE_API_KEY",
        "TRADEPLANE_BINANCE_API_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)

    assert main(["keys", "add", "binance"]) == 0
    assert f"stored the keys for binance (API key {MASKED}) in {path}" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    assert capsys.readouterr().out == "binance\n"
    assert main(["keys", "check", "binance"]) == 0
    checked = capsys.readouterr()
    assert f"binance: API key {MASKED}; the secret decrypts and signs with HMAC-SHA256" in checked.out
    assert main(["keys", "remove", "binance"]) == 0
    assert "removed the keys for binance" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr()
    assert listed.out == ""
    assert f"no keys stored in {path}" in listed.err

    assert terminal.answers == []
    assert terminal.asked[:2] == ["API key for binance: ", "API secret for binance: "]
    assert "again" in terminal.asked[3]
    _no_secret_in(checked.out + checked.err + listed.out + listed.err)


def test_add_from_the_environment_asks_nothing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {
        "TRADEPLANE_BINANCE_TESTNET_API_KEY": API_KEY,
        "TRADEPLANE_BINANCE_TESTNET_API_SECRET": SECRET,
        "TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE,
    }
    assert keys_command(["add", "binance:testnet", "--from-env"], path=path, environ=environ) == 0
    assert Keystore(path).get("binance:testnet", PASSPHRASE)[1].reveal() == SECRET
    _no_secret_in(capsys.readouterr().out)


def test_from_env_without_the_variables_names_them(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    assert keys_command(["add", "binance", "--from-env"], path=path, environ=environ) == 2
    err = capsys.readouterr().err
    assert "TRADEPLANE_BINANCE_API_KEY and TRADEPLANE_BINANCE_API_SECRET" in err
    assert not path.exists()


def test_from_env_with_half_the_variables_names_the_missing_one(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"TRADEPLANE_BINANCE_API_KEY": API_KEY, "TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    assert keys_command(["add", "binance", "--from-env"], path=path, environ=environ) == 1
    assert "TRADEPLANE_BINANCE_API_SECRET is not" in capsys.readouterr().err


def test_differing_passphrases_store_nothing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terminal = ScriptedPrompt(API_KEY, SECRET, PASSPHRASE, PASSPHRASE + "!")
    assert keys_command(["add", "binance"], path=path, prompt=terminal) == 1
    err = capsys.readouterr().err
    assert "the two passphrases differ; nothing was stored" in err
    _no_secret_in(err)
    assert not path.exists()


def test_a_short_passphrase_is_refused(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terminal = ScriptedPrompt(API_KEY, SECRET, "short", "short")
    assert keys_command(["add", "binance"], path=path, prompt=terminal) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert not path.exists()


def test_existing_keys_are_replaced_only_when_asked(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    assert (
        keys_command(["add", "binance"], path=path, prompt=ScriptedPrompt(API_KEY, SECRET), environ=environ)
        == 0
    )
    nothing_asked = ScriptedPrompt()
    assert keys_command(["add", "binance"], path=path, prompt=nothing_asked, environ=environ) == 1
    assert "add --replace to rotate them" in capsys.readouterr().err
    rotation = ScriptedPrompt(OTHER_KEY, OTHER_SECRET)
    assert keys_command(["add", "binance", "--replace"], path=path, prompt=rotation, environ=environ) == 0
    assert Keystore(path).get("binance", PASSPHRASE)[0] == OTHER_KEY


def test_without_a_terminal_the_errors_say_what_to_use(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert keys_command(["add", "binance"], path=path, prompt=None) == 2
    assert "stdin is not a terminal" in capsys.readouterr().err
    environ = {"TRADEPLANE_BINANCE_API_KEY": API_KEY, "TRADEPLANE_BINANCE_API_SECRET": SECRET}
    assert keys_command(["add", "binance", "--from-env"], path=path, prompt=None, environ=environ) == 2
    assert "TRADEPLANE_KEYSTORE_PASSPHRASE" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        (("",), "the API key is empty"),
        ((API_KEY + " ",), "the API key contains a space"),
        (("k" * 100_000,), "the API key is longer than"),
        ((API_KEY, ""), "the API secret is empty"),
        ((API_KEY, SECRET + "\n"), "the API secret contains a space, a line break"),
        ((API_KEY, SECRET + "\x00"), "the API secret contains a NUL"),
        ((API_KEY, "s" * 1_000_000), "the API secret is longer than"),
    ],
)
def test_bad_keys_are_refused_as_soon_as_typed(
    path: Path, capsys: pytest.CaptureFixture[str], answers: tuple[str, ...], why: str
) -> None:
    terminal = ScriptedPrompt(*answers)
    assert keys_command(["add", "binance"], path=path, prompt=terminal) == 2
    err = capsys.readouterr().err
    assert why in err
    assert terminal.answers == []  # no passphrase asked after a refused value
    _no_secret_in(err)
    assert not path.exists()


@pytest.mark.parametrize("venue", ["../../etc/passwd", "a/b", "Binance", "binance:", "x" * 200])
@pytest.mark.parametrize("action", ["add", "check", "remove"])
def test_hostile_venue_names_are_refused(
    path: Path, capsys: pytest.CaptureFixture[str], venue: str, action: str
) -> None:
    terminal = ScriptedPrompt()
    assert keys_command([action, venue], path=path, prompt=terminal) == 2
    assert "venue name" in capsys.readouterr().err
    assert terminal.asked == []
    assert not path.parent.exists()


def test_check_with_a_wrong_passphrase(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Keystore(path).add("binance", API_KEY, SECRET, PASSPHRASE)
    assert keys_command(["check", "binance"], path=path, prompt=ScriptedPrompt("not it at all")) == 1
    captured = capsys.readouterr()
    assert "wrong passphrase or corrupted keystore" in captured.err
    _no_secret_in(captured.out + captured.err)


def test_check_an_unknown_venue_asks_no_passphrase(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    terminal = ScriptedPrompt()
    assert keys_command(["check", "kraken"], path=path, prompt=terminal) == 1
    assert "`tradeplane keys add kraken`" in capsys.readouterr().err
    assert terminal.asked == []


def test_check_notes_when_the_environment_overrides_the_keystore(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Keystore(path).add("binance", API_KEY, SECRET, PASSPHRASE)
    environ = {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE, "TRADEPLANE_BINANCE_API_KEY": OTHER_KEY}
    assert keys_command(["check", "binance"], path=path, environ=environ) == 0
    out = capsys.readouterr().out
    assert "TRADEPLANE_BINANCE_API_KEY or TRADEPLANE_BINANCE_API_SECRET is set" in out
    _no_secret_in(out)


def test_an_ed25519_key_from_the_environment_is_stored_and_checked(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = (
        Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    )
    environ = {
        "TRADEPLANE_BINANCE_API_KEY": API_KEY,
        "TRADEPLANE_BINANCE_API_SECRET": pem,
        "TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE,
    }
    assert keys_command(["add", "binance", "--from-env"], path=path, environ=environ) == 0
    assert keys_command(["check", "binance"], path=path, environ=environ) == 0
    out = capsys.readouterr().out
    assert "signs with Ed25519" in out
    assert pem.splitlines()[1] not in out


def test_check_says_when_the_secret_cannot_sign(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pem = generate_private_key(SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    Keystore(path).add("binance", API_KEY, pem.decode(), PASSPHRASE)
    environ = {"TRADEPLANE_KEYSTORE_PASSPHRASE": PASSPHRASE}
    assert keys_command(["check", "binance"], path=path, environ=environ) == 1
    err = capsys.readouterr().err
    assert "decrypt, but the secret cannot sign" in err
    assert pem.decode().splitlines()[1] not in err


def test_remove_an_unknown_venue(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert keys_command(["remove", "binance"], path=path) == 1
    assert "holds no keys for binance" in capsys.readouterr().err


def test_ctrl_c_at_a_prompt_changes_nothing(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert keys_command(["add", "binance"], path=path, prompt=InterruptedTerminal()) == 130
    assert "cancelled; nothing was changed" in capsys.readouterr().err
    assert not path.exists()


def test_a_corrupted_keystore_is_named(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("not json")
    assert keys_command(["list"], path=path) == 1
    assert f"{path} is not a usable tradeplane keystore" in capsys.readouterr().err


def test_keys_needs_an_action() -> None:
    with pytest.raises(SystemExit) as done:
        main(["keys"])
    assert done.value.code == 2
