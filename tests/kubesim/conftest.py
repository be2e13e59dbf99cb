"""Fixtures of the kubesim tests: a running simulator with the product's CRD installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.crd import crd_yaml
from kubesim.testing import RunningKubeSim, running_kubesim


@pytest.fixture
def crd_file(tmp_path: Path) -> Path:
    """The CRD generated from api/ (what `make crd` writes to deploy/crd.yaml)."""
    path = tmp_path / "crd.yaml"
    path.write_text(crd_yaml())
    return path


@pytest.fixture
def kube(tmp_path: Path, crd_file: Path) -> Iterator[RunningKubeSim]:
    with running_kubesim(tmp_path, crd_files=[crd_file], history_size=50, bookmark_interval=0.2) as running:
        yield running
