"""Fixtures of the deploy/ tests: every kustomization rendered once per session by the real kubectl."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_helpers import TARGETS, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """target name -> the objects `kubectl kustomize` renders for it."""
    return {name: render(path) for name, path in TARGETS.items()}
