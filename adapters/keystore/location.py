"""Where the keystore lives unless told otherwise."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

KEYSTORE_VARIABLE = "TRADEPLANE_KEYSTORE"


def default_keystore_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$TRADEPLANE_KEYSTORE``, else ``keys.json`` in tradeplane's user configuration directory.

    That directory is ``$XDG_CONFIG_HOME/tradeplane`` when the variable holds an absolute path
    (relative ones are ignored, as the XDG specification says), else ``~/.config/tradeplane``.
    """
    explicit = environ.get(KEYSTORE_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    config_home = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(config_home):
        home = environ.get("HOME") or str(Path.home())
        config_home = os.path.join(home, ".config")
    return Path(config_home) / "tradeplane" / "keys.json"
