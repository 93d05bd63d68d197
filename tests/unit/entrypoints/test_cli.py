"""The command line: arguments refused with a clear message, a bad config never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from entrypoints.cli import COMMANDS, build_parser, main, named_command


def test_version_prints_and_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("tradeplane ")


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_every_documented_command_is_there() -> None:
    parser = build_parser()
    for command in (
        ["run", "--reset-state"],
        ["demo"],
        ["exchange-sim"],
        ["token", "--name", "a", "--role", "admin"],
        ["migrate"],
    ):
        assert parser.parse_args(command).handler is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--duration", "soon"],
        ["demo", "--rate", "-1"],
        ["demo", "--status-interval", "0"],
        ["demo", "--rate", "inf"],
        ["exchange-sim", "--port", "99999"],
        ["exchange-sim", "--symbols", "btc usdt!"],
        ["exchange-sim", "--garbage-prob", "2"],
        ["frobnicate"],
    ],
)
def test_malformed_arguments_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "error" in capsys.readouterr().err


def test_demo_refuses_a_non_positive_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--duration", "-1"]) == 2
    assert "--duration must be positive" in capsys.readouterr().err


def test_run_with_a_broken_config_says_what_is_wrong_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[engine]\nname = 'x'\n")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "at least one [[instruments]]" in err
    assert "Traceback" not in err
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "--config", str(tmp_path)]) == 2  # a directory
    err = capsys.readouterr().err
    assert "cannot be read" in err
    assert "Traceback" not in err


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def _shown(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_help_shows_the_defaults(command: str) -> None:
    parser = _subcommands()[command]
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.default in (None, [], argparse.SUPPRESS):
            continue
        assert f"(default: {_shown(action.default)})" in text or "default" in (action.help or ""), (
            action.option_strings
        )


def test_the_demo_help_reads_its_defaults() -> None:
    text = " ".join(_subcommands()["demo"].format_help().split())
    assert "seed of the simulated market (default: 7)" in text
    assert "(default: 50.0)" in text
    assert "--no-grpc" in text
    assert "(default: False)" not in text  # a switch is off unless given: nothing to show


@pytest.mark.parametrize(("command", "option"), [("run", "--log-level"), ("migrate", "--config")])
def test_an_option_defaulting_to_the_configuration_says_so(command: str, option: str) -> None:
    parser = _subcommands()[command]
    action = next(a for a in parser._actions if option in a.option_strings)
    assert "default" in (action.help or "")


def _help_of(parser: argparse.ArgumentParser, command: str | None = None) -> str:
    if command is None:
        return parser.format_help()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(commands.choices[command].format_help())


def test_the_commands_listed_without_their_modules_read_as_the_modules_declare_them() -> None:
    assert _help_of(build_parser(loaded=())) == _help_of(build_parser())
    assert [command.name for command in COMMANDS] == list(_subcommands())


@pytest.mark.parametrize("command", [command.name for command in COMMANDS])
def test_a_command_loaded_alone_has_the_options_it_has_among_all(command: str) -> None:
    assert _help_of(build_parser(loaded=(command,)), command) == _help_of(build_parser(), command)


@pytest.mark.parametrize(
    "argv",
    [
        ["backtest", "--data", "a.csv", "--strategy", "sma_crossover", "--param", "fast=3"],
        ["token", "--name", "run", "--role", "admin"],
        ["migrate", "--config", "demo"],
        ["keys", "list"],
        ["run", "--reset-state"],
    ],
)
def test_the_command_named_first_is_the_one_argparse_runs(argv: list[str]) -> None:
    named = named_command(argv)
    assert named is not None
    parsed = build_parser(loaded=(named,)).parse_args(argv)
    assert parsed.command == named
    assert vars(parsed) == vars(build_parser().parse_args(argv))


def test_no_command_is_named_by_options_alone() -> None:
    assert named_command(["--help"]) is None
    assert named_command([]) is None
