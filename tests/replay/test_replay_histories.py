"""Replay every recorded history (tests/histories/*.json) against the current workflow code.

A change to workflow code that would make a running ClusterSet's history non-deterministic fails here;
such a change must go behind `workflow.patched(...)` (docs/workflows.md). Re-record with
tests/replay/record_histories.py only when adding histories, never to make this test pass.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.clusterset import ClusterSetWorkflow
from workflows.operation import DryRunWorkflow, OperationWorkflow

FOLDER = Path(__file__).resolve().parent.parent / "histories"
INDEX: dict[str, str] = json.loads((FOLDER / "index.json").read_text())
HISTORIES = sorted(p for p in FOLDER.glob("*.json") if p.name != "index.json")


def test_there_is_a_history_of_every_operation() -> None:
    kinds = {p.stem.split("-")[1] for p in HISTORIES if "-" in p.stem}
    assert {"bootstrap", "join", "switchover", "remove", "rejoin", "failover", "fence", "dissolve"} <= kinds


def patches_in(path: Path) -> set[str]:
    """The ids of the workflow.patched markers in a recorded history."""
    found: set[str] = set()
    for event in json.loads(path.read_text())["events"]:
        marker = event.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == "core_patch":
            for payload in marker["details"]["patch-data"]["payloads"]:
                found.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return found


def test_both_branches_of_every_patch_are_recorded() -> None:
    """Each workflow.patched id has entity histories written before it (they must replay the old branch)
    and after it (the new branch): a patch whose old side has no history would be untested."""
    from workflows.clusterset import PATCH_WAIT_CHECKS_FIRST

    entity = [p for p in HISTORIES if "-" not in p.stem]
    with_marker = {p.stem for p in entity if PATCH_WAIT_CHECKS_FIRST in patches_in(p)}
    assert {"life", "failover"}.isdisjoint(with_marker)
    assert {"life2", "failover2"} <= with_marker


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    text = path.read_text()  # noqa: ASYNC240 - a small local file
    workflow_id = INDEX[path.name]
    replayer = Replayer(
        workflows=[ClusterSetWorkflow, OperationWorkflow, DryRunWorkflow],
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json(workflow_id, text), raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
