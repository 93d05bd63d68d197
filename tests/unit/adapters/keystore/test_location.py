"""Where the keystore lives: $TRADEPLANE_KEYSTORE, else the XDG user configuration directory."""

from __future__ import annotations

from pathlib import Path

from adapters.keystore.location import default_keystore_path


def test_the_explicit_variable_wins() -> None:
    environ = {"TRADEPLANE_KEYSTORE": "/srv/keys.json", "XDG_CONFIG_HOME": "/x", "HOME": "/home/a"}
    assert default_keystore_path(environ) == Path("/srv/keys.json")


def test_an_absolute_xdg_config_home_is_honoured() -> None:
    environ = {"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/a"}
    assert default_keystore_path(environ) == Path("/cfg/tradeplane/keys.json")


def test_a_relative_or_empty_xdg_config_home_falls_back_to_dot_config() -> None:
    for value in ("relative/cfg", ""):
        environ = {"XDG_CONFIG_HOME": value, "HOME": "/home/a"}
        assert default_keystore_path(environ) == Path("/home/a/.config/tradeplane/keys.json")


def test_home_comes_from_the_given_environment() -> None:
    assert default_keystore_path({"HOME": "/home/b"}) == Path("/home/b/.config/tradeplane/keys.json")


def test_an_empty_explicit_variable_is_ignored() -> None:
    environ = {"TRADEPLANE_KEYSTORE": "", "HOME": "/home/a"}
    assert default_keystore_path(environ) == Path("/home/a/.config/tradeplane/keys.json")
