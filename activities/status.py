"""ClusterSet status (spec §3): one round of queries per site over warm pools (filled in below)."""

from __future__ import annotations

from activities.connections import Credentials
from activities.models import ClusterSetObservation, ObserveInput
from activities.steps import OperationEnv


async def observe(inp: ObserveInput, *, env: OperationEnv, creds: Credentials) -> ClusterSetObservation:
    raise NotImplementedError
