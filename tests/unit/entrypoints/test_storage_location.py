"""Where state lives: the per-user data directory unless the configuration says otherwise, a
relative ``data_dir`` taken from the configuration file's folder (never from wherever the
engine happens to start), and the line that says where, with any password masked."""

from __future__ import annotations

import os
import string
import sys
import tempfile
import tomllib
from pathlib import Path

import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.config import (
    ConfigError,
    StorageSettings,
    default_data_dir,
    example_config_path,
    load_settings,
    parse_settings,
)
from entrypoints.storage import where_state_lives

INSTRUMENT = """
[[instruments]]
id = "BTCUSDT.BINANCE"
base = "BTC"
quote = "USDT"
price_tick = "0.01"
lot_size = "0.001"
"""


@pytest.fixture(autouse=True)
def _per_user_folders_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user data directory and the home folder under tmp_path: nothing reaches the real ones."""
    for name in [name for name in os.environ if name.startswith("TRADEPLANE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def _config(folder: Path, storage: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(INSTRUMENT + (f"\n[storage]\n{storage}\n" if storage else ""))
    return path


def test_the_default_is_the_platforms_per_user_data_directory(tmp_path: Path) -> None:
    assert default_data_dir() == platformdirs.user_data_dir("tradeplane")
    if sys.platform == "linux":
        assert default_data_dir() == str(tmp_path / "xdg" / "tradeplane")


def test_a_configuration_without_data_dir_keeps_its_state_in_the_per_user_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for storage in (
        load_settings(_config(tmp_path / "etc"), environ={}).storage,
        parse_settings(tomllib.loads(INSTRUMENT)).storage,
        StorageSettings(kind="sql"),
    ):
        assert storage.data_dir == default_data_dir()
        assert storage.urls()["trades"] == f"sqlite:///{Path(default_data_dir()) / 'tradeplane.db'}"
        assert storage.venue_log_path() == Path(default_data_dir()) / "paper_venue.log"


def test_a_relative_data_dir_is_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc" / "tradeplane", 'data_dir = "state"')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    storage = load_settings(config, environ={}).storage
    assert storage.data_dir == str(tmp_path / "etc" / "tradeplane" / "state")
    assert (
        storage.urls()["market_data"]
        == f"sqlite:///{tmp_path / 'etc' / 'tradeplane' / 'state'}/market_data.db"
    )
    monkeypatch.chdir(tmp_path / "etc")  # the config given by a relative path: the same folder
    assert load_settings(Path("tradeplane/config.toml"), environ={}).storage.data_dir == storage.data_dir


def test_absolute_parent_and_home_relative_data_dirs(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    cases = {
        f'data_dir = "{tmp_path / "srv"}"': tmp_path / "srv",
        'data_dir = "../var/tradeplane"': tmp_path / "var" / "tradeplane",
        'data_dir = "~/tradeplane-state"': tmp_path / "home" / "tradeplane-state",
    }
    for line, expected in cases.items():
        assert load_settings(_config(folder, line), environ={}).storage.data_dir == str(expected), line


def test_a_data_dir_from_the_environment_is_taken_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path / "etc", 'data_dir = "state"')
    monkeypatch.chdir(tmp_path)
    storage = load_settings(config, environ={"TRADEPLANE_STORAGE__DATA_DIR": "here"}).storage
    assert storage.data_dir == str(tmp_path / "here")


def test_the_shipped_example_keeps_its_state_under_the_per_user_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example lives inside the installed package: no place for state, whatever it says."""
    monkeypatch.chdir(tmp_path)
    for path in (None, example_config_path()):
        data_dir = Path(load_settings(path, environ={}).storage.data_dir)
        assert data_dir.is_relative_to(default_data_dir()), data_dir
        assert not data_dir.is_relative_to(example_config_path().parent)


@pytest.mark.parametrize("value", ['""', '"   "', "3"])
def test_a_data_dir_that_is_no_path_is_refused_by_name(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="data_dir must be"):
        load_settings(_config(tmp_path / "etc", f"data_dir = {value}"), environ={})


segment = st.text(alphabet=string.ascii_letters + string.digits + "-_ .", min_size=1, max_size=12).filter(
    lambda part: part not in {".", ".."} and part.strip() == part
)


@given(parts=st.lists(segment, min_size=1, max_size=4))
def test_where_a_file_keeps_its_state_does_not_depend_on_the_current_directory(parts: list[str]) -> None:
    relative = "/".join(parts)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as root:
        config = _config(Path(root) / "etc", f"data_dir = {relative!r}")
        found = []
        try:
            for start in (Path(root), Path(root) / "etc", Path(tempfile.gettempdir())):
                os.chdir(start)
                found.append(load_settings(config, environ={}).storage.data_dir)
        finally:
            os.chdir(cwd)
    assert found == [str(Path(root) / "etc" / relative)] * 3


def test_the_start_line_names_the_folder_or_says_nothing_is_kept(tmp_path: Path) -> None:
    assert where_state_lives(StorageSettings(kind="memory")) == "nothing is kept"
    folder = tmp_path / "state"
    assert where_state_lives(StorageSettings(kind="sql", data_dir=str(folder))) == f"state kept in {folder}/"


def test_the_start_line_names_the_stores_kept_elsewhere(tmp_path: Path) -> None:
    storage = StorageSettings(
        kind="sql",
        data_dir=str(tmp_path),
        trades_url="postgresql+psycopg://tp@db.internal:5432/tradeplane",
        market_data_url=f"sqlite:///{tmp_path / 'ticks.db'}",
    )
    assert where_state_lives(storage) == (
        f"state kept in {tmp_path}/; trades and signals in"
        f" postgresql+psycopg://tp@db.internal:5432/tradeplane; market data in {tmp_path / 'ticks.db'}"
    )


@given(password=st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=40))
def test_the_start_line_never_shows_a_databases_password(password: str) -> None:
    url = f"postgresql+psycopg://trader:{password}@127.0.0.1:5432/tradeplane"
    line = where_state_lives(StorageSettings(kind="sql", data_dir="/srv/tp", trades_url=url))
    assert line == (
        "state kept in /srv/tp/; trades and signals in postgresql+psycopg://trader:***@127.0.0.1:5432/tradeplane"
    )
