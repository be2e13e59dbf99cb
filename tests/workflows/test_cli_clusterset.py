"""`csctl failover | rejoin | status | plan`: refusals and mistakes are one readable line and a hint."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from click.testing import CliRunner
from temporalio.testing import WorkflowEnvironment

from cli import main


def test_failover_without_force_refuses_and_explains() -> None:
    result = CliRunner().invoke(main, ["failover", "default/cs1", "--reason", "x"])
    assert result.exit_code == 1
    assert "refusing a failover without --force TARGET" in result.output
    assert "hint:" in result.output and "spec.primaryCluster" in result.output
    assert "Traceback" not in result.output


def test_failover_needs_a_reason_and_targets_are_namespace_name() -> None:
    result = CliRunner().invoke(main, ["failover", "default/cs1", "--force", "dc2"])
    assert result.exit_code == 1 and "--reason is required" in result.output
    result = CliRunner().invoke(main, ["status", "cs1"])
    assert result.exit_code == 1 and "is not namespace/name" in result.output and "hint:" in result.output


@pytest.mark.asyncio(loop_scope="session")
async def test_status_of_an_unknown_clusterset(temporal_dev_env: WorkflowEnvironment) -> None:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "KUBECONFIG": "/nonexistent",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from cli import main; main()",
        "status",
        "default/no-such-clusterset",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 1, text
    assert "no running workflow for ClusterSet default/no-such-clusterset" in text
    assert "hint:" in text and "Traceback" not in text


def test_a_query_the_workflow_cannot_answer_is_one_line_with_a_hint() -> None:
    from temporalio.client import WorkflowQueryFailedError

    from cli.clusterset import CliError, _run

    async def broken() -> None:
        raise WorkflowQueryFailedError("[TMPRL1100] Nondeterminism error: Timer fired event did not match")

    with pytest.raises(CliError) as raised:
        _run(broken)
    text = raised.value.format_message()
    assert text.startswith("the workflow could not answer: [TMPRL1100]")
    assert "docs/workflows.md §7" in text and "kubectl get ps-clusterset" in text
