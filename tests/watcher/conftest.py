"""Fixture of the watcher tests: `world_factory`, a kubesim + Temporal + worker world (watcher_world.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from watcher_world import make_world


@pytest.fixture
def world_factory(temporal_dev_env: WorkflowEnvironment, tmp_path: Path) -> Callable[..., Any]:
    def factory(**kw: Any) -> Any:
        return make_world(temporal_dev_env, tmp_path, **kw)

    return factory
