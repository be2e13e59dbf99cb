"""Record one history of every operation into tests/histories/*.json (run when workflow code changes on
purpose, behind workflow.patched, and commit the new files next to the old ones):

    .venv/bin/python tests/replay/record_histories.py [SUFFIX]

SUFFIX (for example 2) names the new files life2*.json and failover2*.json, so the recordings of the
code before a patch stay and keep proving that its branch still replays.

Scenarios run on the time-skipping test server with the fake operations of tests/workflows: bootstrap,
CLONE join, switchover, removal, automatic rejoin, forced failover preempting a join, fence, dissolve.
Each entity workflow history and each operation child history is written as its own file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent / "workflows")]

from temporalio.testing import WorkflowEnvironment  # noqa: E402
from wf_fakes import FakeTopology, spec_of  # noqa: E402
from wf_harness import Harness, running_harness, wait_until  # noqa: E402

from worker.binaries import temporal_test_server  # noqa: E402
from workflows.clusterset import ClusterSetWorkflow  # noqa: E402
from workflows.models import ClusterSetPhase, DissolveRequest, ForceFailoverRequest  # noqa: E402

OUT = HERE.parent / "histories"
INDEX = OUT / "index.json"  # file name -> workflow id (replay needs the id)


async def save(h: Harness, label: str) -> list[Path]:
    written: list[Path] = []
    view = await h.view()
    ids = [(label, h.workflow_id)] + [
        (f"{label}-{r.kind.value}-{r.target_cluster or 'all'}", r.operation_id)
        for r in view.operation_history
    ]
    for name, wf_id in ids:
        history = await h.client.get_workflow_handle(wf_id).fetch_history()
        path = OUT / (re.sub(r"[^a-z0-9-]+", "-", name.lower()) + ".json")
        path.write_text(history.to_json())
        index = json.loads(INDEX.read_text()) if INDEX.exists() else {}
        index[path.name] = wf_id
        INDEX.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
        written.append(path)
    return written


async def life(env: WorkflowEnvironment, label: str) -> list[Path]:
    async with running_harness(env, name=label) as h:
        ready = lambda v: v.phase is ClusterSetPhase.READY  # noqa: E731
        await h.apply(spec_of("dc1", "dc2", "dc3", automaticRejoin="whenConsistent"), 1)
        await h.wait_for("ready", ready)
        await h.apply(spec_of("dc1", "dc2", "dc3", primary="dc2", automaticRejoin="whenConsistent"), 2)
        await h.wait_for("switched", lambda v: ready(v) and v.observed_generation == 2)
        await h.apply(spec_of("dc1", "dc2", primary="dc2", automaticRejoin="whenConsistent"), 3)
        await h.wait_for("removed", lambda v: ready(v) and v.observed_generation == 3)
        h.topo.clusters["dc1"] = "OK_NOT_REPLICATING"
        await h.wait_for("rejoined", lambda v: ready(v) and v.operation_history[-1].kind.value == "rejoin")
        written = await save(h, label)
        await h.handle.execute_update(ClusterSetWorkflow.dissolve, DissolveRequest(uid=h.uid))
        await h.handle.result()
        return written + await save(h, label)


async def failover(env: WorkflowEnvironment, label: str) -> list[Path]:
    topo = FakeTopology()
    topo.hang.add(("join", "clone"))
    async with running_harness(env, topo=topo, name=label) as h:
        await h.apply(spec_of("dc1", "dc2", "dc3"), 1)
        await wait_until("clone running", lambda: ("join", "dc2", "clone") in topo.steps_run)
        topo.reachable = False
        await h.handle.execute_update(
            ClusterSetWorkflow.force_failover,
            ForceFailoverRequest(target_cluster="dc2", reason="dc1 down", requested_by="recorder"),
        )
        await h.wait_for("fenced", lambda v: any(r.kind.value == "fence" for r in v.operation_history))
        return await save(h, label)


async def main(suffix: str) -> None:
    OUT.mkdir(exist_ok=True)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(temporal_test_server()))
    try:
        written = await life(env, f"life{suffix}") + await failover(env, f"failover{suffix}")
        for path in sorted(set(written)):
            print(path.relative_to(HERE.parent.parent))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
    # The SDK's core threads can abort a normal interpreter shutdown after many workflows were
    # terminated; everything is printed and closed by now, so leave directly.
    sys.stdout.flush()
    os._exit(0)
