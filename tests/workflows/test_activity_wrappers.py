"""activities/temporal.py without a server: error mapping (no secret, typed) and clone re-attachment."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from wf_fakes import spec_of

from activities.errors import AccessDenied, InstanceUnreachable
from activities.models import (
    CloneProgress,
    ClusterSetRef,
    OperationKind,
    OperationRequest,
    StepInput,
    StepResult,
)
from activities.temporal import OperationActivities


def step_input(step: str = "clone") -> StepInput:
    req = OperationRequest(
        kind=OperationKind.JOIN,
        clusterset=ClusterSetRef(namespace="ns", name="cs", uid="u"),
        spec=spec_of("dc1", "dc2"),
        target_cluster="dc2",
        operation_id="op-1",
    )
    return StepInput(request=req, step=step)


def wrappers(step_fn: Any) -> OperationActivities:
    async def unused(*a: Any, **k: Any) -> Any:
        raise AssertionError("not called")

    async def sink(workflow_id: str, report: Any) -> None:
        return None

    return OperationActivities(
        env=None, plan_fn=unused, step_fn=step_fn, observe_fn=unused, progress_sink=sink
    )


async def test_typed_errors_become_application_errors_without_driver_text() -> None:
    async def denied(inp: StepInput, **_: Any) -> StepResult:
        try:
            raise RuntimeError("(1045) Access denied for user 'clusterset' using password: hunter2")
        except RuntimeError as exc:
            raise AccessDenied("access denied for clusterset at 127.0.0.1:3306", where="dc1") from exc

    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(wrappers(denied).step, step_input("validate"))
    assert info.value.type == "AccessDenied" and info.value.non_retryable
    assert "hunter2" not in str(info.value) and info.value.__cause__ is None

    async def down(inp: StepInput, **_: Any) -> StepResult:
        raise InstanceUnreachable("127.0.0.1:3306 refused", where="dc2")

    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(wrappers(down).step, step_input("validate"))
    assert info.value.type == "InstanceUnreachable" and not info.value.non_retryable

    async def bug(inp: StepInput, **_: Any) -> StepResult:
        raise KeyError("password=hunter2")

    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(wrappers(bug).step, step_input("validate"))
    assert info.value.type == "KeyError" and "hunter2" not in str(info.value)


async def test_clone_step_heartbeats_progress_and_resumes_from_the_last_one() -> None:
    seen: list[CloneProgress | None] = []

    async def clone(
        inp: StepInput, *, env: Any, on_progress: Any, resume: CloneProgress | None
    ) -> StepResult:
        seen.append(resume)
        start = resume.percent if resume else 0.0
        for pct in (start + 10, start + 20):
            await on_progress(
                CloneProgress(recipient="r:3306", donor="d:3306", percent=pct, stage="FILE COPY")
            )
        return StepResult(step=inp.step, already_done=False)

    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    await env.run(wrappers(clone).clone_step, step_input())
    assert seen == [None]
    last = [d[0] for d in beats if d][-1]
    assert last.percent == 20.0

    # a retried attempt (worker killed) gets the recorded heartbeat back, as a plain dict
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(
        ActivityEnvironment.default_info(), heartbeat_details=[last.model_dump(mode="json")], attempt=2
    )
    await retry.run(wrappers(clone).clone_step, step_input())
    assert seen[1] is not None and seen[1].percent == 20.0
