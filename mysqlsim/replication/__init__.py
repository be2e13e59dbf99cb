"""Replication for mysqlsim: asynchronous channels, Group Replication, connection failover, CLONE, and the
InnoDB Cluster metadata schema 2.x; imported by the core so that its registrations take effect.

Module map: ``sqlparse`` (statements sqlglot cannot read), ``async_statements`` + ``channels`` (replica
channels), ``group`` + ``gr_statements`` (Group Replication), ``failover`` (asynchronous connection
failover), ``clone`` (CLONE INSTANCE), ``pstables`` (performance_schema tables), ``plugin_vars`` (plugins and
variables), ``metadata`` (mysql_innodb_cluster_metadata), ``topology`` (site modes), ``state`` (per-instance
state), ``core`` (the only adapter to the core's Instance/World).
"""

from __future__ import annotations

from typing import Any

from mysqlsim.registry import on_event
from mysqlsim.replication import (  # noqa: F401 - imported for their registrations
    async_statements,
    channels,
    clone,
    failover,
    gr_statements,
    group,
    metadata,
    plugin_vars,
    pstables,
    topology,
)
from mysqlsim.replication.state import describe

__all__ = ["describe"]


async def _before_commit(instance: Any, txn: Any, session: Any = None) -> None:
    await group.before_commit(instance, txn, session)


async def _committed(instance: Any, txn: Any) -> None:
    await group.after_commit(instance, txn)


async def _stopped(instance: Any) -> None:
    await channels.stop_all(instance)
    await group.instance_stopped(instance)


async def _started(instance: Any) -> None:
    clone.on_started(instance)
    channels.start_on_boot(instance)
    await group.instance_started(instance)


async def _world_stopping(world: Any) -> None:
    await group.shutdown(world)


on_event("before_commit", _before_commit)
on_event("transaction_committed", _committed)
on_event("instance_stopped", _stopped)
on_event("instance_started", _started)
on_event("world_stopping", _world_stopping)
