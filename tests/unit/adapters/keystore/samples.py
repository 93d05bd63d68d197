"""Credentials and keystores the keystore tests share (the venue's published example keys)."""

from __future__ import annotations

from pathlib import Path

from adapters.keystore.keystore import Keystore
from adapters.keystore.sealing import MIN_SCRYPT_N

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PASSPHRASE = "correct horse battery staple"
OTHER_KEY = "Zq7RyE1lkJ0bT3uX8wNcVd2fHg5mPa9sLoKiUjYh6GtFrDeSwQaZxCvBnMl4Kp0O"
OTHER_SECRET = "b8Fj2kLp0QwErTyUiOpAsDfGhJkLzXcVbNm1234567890qwertyuiopASDFGHJ"


def fast_keystore(path: Path) -> Keystore:
    """A keystore whose new entries use the cheapest scrypt cost it accepts (tests only)."""
    return Keystore(path, scrypt_n=MIN_SCRYPT_N)
