"""A 30-line workflow and its worker, run as a subprocess by test_sdk_query_restart.py.

Nothing of the product is imported: the workflow waits for a signal or a 1 s timer and runs an activity
either way, the canonical Temporal pattern. Run: ``python sdk_restart_worker.py ADDRESS TASK_QUEUE CACHE``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn
async def observe() -> None:
    return None


@activity.defn
async def write() -> None:
    return None


@workflow.defn
class Poked:
    def __init__(self) -> None:
        self.dirty = False
        self.steps: list[str] = []

    @workflow.run
    async def run(self) -> None:
        while True:
            try:
                await workflow.wait_condition(lambda: self.dirty, timeout=timedelta(seconds=1))
            except TimeoutError:
                self.steps.append("observe")
                await workflow.execute_activity(observe, start_to_close_timeout=timedelta(seconds=5))
                continue
            self.dirty = False
            self.steps.append("write")
            await workflow.execute_activity(write, start_to_close_timeout=timedelta(seconds=5))

    @workflow.signal
    def poke(self) -> None:
        self.dirty = True

    @workflow.query
    def done(self) -> list[str]:
        return self.steps


async def main(address: str, task_queue: str, cache: int) -> None:
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[Poked],
        activities=[observe, write],
        max_cached_workflows=cache,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=0.5),
    )
    print("worker polling", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
