"""The shipped example configuration with its [grpc] section replaced, loaded as a file."""

from __future__ import annotations

from pathlib import Path

from entrypoints.config import Settings, example_config_path, load_settings

EXAMPLE_DATA_DIR_LINE = '# data_dir = "/var/lib/tradeplane"'
"""The example's commented ``data_dir`` line, which tests replace to keep state in a temporary folder."""


def with_grpc_section(tmp_path: Path, grpc: str) -> Settings:
    """The example with ``grpc`` (TOML lines) as its [grpc] section, loaded without the environment."""
    example = example_config_path().read_text()
    start, end = example.index("[grpc]\n"), example.index("[logging]")
    text = example[:start] + example[end:] + f"\n[grpc]\n{grpc}\n"
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, environ={})
