"""The step framework: operations as lists of probe-then-act steps, and the three entry points.

Why it exists: a Temporal activity may run again at any moment (worker crash, lost completion), so
every unit of work is a `Step` whose read-only `probe` says whether its effect is already in place,
and whose `act` is only run when it is not. An *operation builder* (registered with
``@operation(OperationKind.X)``) turns a request into the ordered list of steps; builders are pure
functions of the request (spec + context), so the workflow, the dry run and a retried activity all see
the same list. Nothing below imports Temporal: the wrappers in activities/temporal.py call

    plan_operation(req, *, env)                    -> OperationPlan       (dry run: every probe)
    run_step(inp, *, env, on_progress, resume)     -> StepResult          (probe, act when needed)
    observe_clusterset(inp, *, env)                -> ClusterSetObservation

`OperationEnv` bundles what is injected: the SecretReader, the connection pools and the settings.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from activities.connections import ClusterAccess, ConnectionSettings, Credentials, Pools
from activities.credentials import CLUSTERSET_USER, SecretReader, derived_password
from activities.errors import AccessDenied, ClusterSetError, InvalidRequest, MissingPrivilege
from activities.models import (
    CloneProgress,
    ClusterSetObservation,
    ObserveInput,
    OperationKind,
    OperationPlan,
    OperationRequest,
    StepInput,
    StepPlan,
    StepResult,
)
from api.models import ClusterSetSpec, SslMode

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

ProgressCallback = Callable[[CloneProgress], Awaitable[None]]


@dataclass(frozen=True)
class OperationSettings:
    """Timeouts and polling of the operations (seconds)."""

    sync_timeout: float = 600.0  # WAIT_FOR_EXECUTED_GTID_SET budget of one sync step
    sync_poll: int = 2  # seconds per WAIT_FOR_EXECUTED_GTID_SET call
    clone_start_timeout: float = 30.0  # the Shell's k_clone_start_timeout
    restart_wait_timeout: float = 600.0  # recipient restart after CLONE
    clone_poll_interval: float = 0.5
    member_online_timeout: float = 600.0  # a GR member reaching ONLINE (bootstrap, join, grow)
    poll_interval: float = 0.2


@dataclass
class OperationEnv:
    """What the entry points need, injected by the worker (or a test)."""

    secrets: SecretReader
    pools: Pools = field(default_factory=Pools)
    settings: OperationSettings = field(default_factory=OperationSettings)
    primary_hints: dict[str, str] = field(default_factory=dict)  # cluster name -> last primary host:port

    @classmethod
    def create(
        cls,
        *,
        secrets: SecretReader,
        connection_settings: ConnectionSettings | None = None,
        settings: OperationSettings | None = None,
    ) -> OperationEnv:
        return cls(
            secrets=secrets,
            pools=Pools(connection_settings or ConnectionSettings.from_env()),
            settings=settings or OperationSettings(),
        )

    async def close(self) -> None:
        await self.pools.close()


class StepContext:
    """What a probe or an act sees: the request, the environment, credentials and cluster access."""

    def __init__(
        self,
        req: OperationRequest,
        env: OperationEnv,
        creds: Credentials,
        *,
        on_progress: ProgressCallback | None = None,
        resume: CloneProgress | None = None,
    ) -> None:
        self.req = req
        self.env = env
        self.creds = creds
        self.on_progress = on_progress
        self.resume = resume
        self.outputs: dict[str, str] = {}
        self.cache: dict[str, object] = {}

    @property
    def spec(self) -> ClusterSetSpec:
        return self.req.spec

    @property
    def settings(self) -> OperationSettings:
        return self.env.settings

    @property
    def ssl_mode(self) -> SslMode:
        return self.req.spec.ssl_mode

    def context(self, key: str, default: str = "") -> str:
        """An output of this or an earlier step (this step's own outputs win)."""
        return self.outputs.get(key, self.req.context.get(key, default))

    def cluster(self, name: str) -> ClusterAccess:
        try:
            spec_cluster = self.spec.cluster(name)
        except KeyError:
            raise InvalidRequest(
                f"cluster {name!r} is not in spec.clusters "
                f"({', '.join(c.innodb_cluster_name for c in self.spec.clusters)})",
                where=name,
            ) from None
        return ClusterAccess(self.env.pools, spec_cluster, creds=self.creds, ssl_mode=self.ssl_mode)

    @property
    def target(self) -> str:
        if not self.req.target_cluster:
            raise InvalidRequest(f"operation {self.req.kind.value} needs target_cluster")
        return self.req.target_cluster

    def internal_password(self, account_name: str) -> str:
        """The derived password of an internal account (see activities.credentials)."""
        return derived_password(self.creds.password, purpose=account_name)


ProbeFn = Callable[[StepContext], Awaitable[bool]]
ActFn = Callable[[StepContext], Awaitable[dict[str, str] | None]]


@dataclass(frozen=True)
class Step:
    """One idempotent unit: `probe` (read-only) says done; `act` makes it so."""

    name: str
    summary: str
    probe: ProbeFn
    act: ActFn
    long_running: bool = False


def no_outputs(fn: Callable[[StepContext], Awaitable[None]]) -> ActFn:
    """Adapt an act that returns nothing to the ActFn signature."""

    async def act(ctx: StepContext) -> dict[str, str] | None:
        await fn(ctx)
        return None

    act.__name__ = getattr(fn, "__name__", "act")
    return act


Builder = Callable[[OperationRequest], list[Step]]
_REGISTRY: dict[OperationKind, Builder] = {}

# Modules that register builders. H-ops-B's modules are listed too; a module that does not exist yet
# is skipped (only when the missing module is that very module).
OPERATION_MODULES = (
    "activities.bootstrap",
    "activities.join",
    "activities.grow",
    "activities.adopt",
    "activities.switchover",
    "activities.failover",
    "activities.fence",
    "activities.rejoin",
    "activities.reboot",
    "activities.remove",
    "activities.dissolve",
)
_loaded = False


def operation(kind: OperationKind) -> Callable[[Builder], Builder]:
    """Register the step builder of an operation kind."""

    def register(fn: Builder) -> Builder:
        _REGISTRY[kind] = fn
        return fn

    return register


def _load_operations() -> None:
    global _loaded
    if _loaded:
        return
    for name in OPERATION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    _loaded = True


def build_steps(req: OperationRequest) -> list[Step]:
    """The steps of an operation for a request (raises InvalidRequest for an unknown kind)."""
    _load_operations()
    builder = _REGISTRY.get(req.kind)
    if builder is None:
        raise InvalidRequest(f"operation {req.kind.value!r} is not implemented")
    steps = builder(req)
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise InvalidRequest(f"operation {req.kind.value} has duplicate step names: {names}")
    return steps


def registered_kinds() -> list[OperationKind]:
    _load_operations()
    return sorted(_REGISTRY)


async def credentials_for(req_spec: ClusterSetSpec, namespace: str, env: OperationEnv) -> Credentials:
    password = await env.secrets.password(namespace=namespace, selector=req_spec.credentials_secret)
    return Credentials(user=CLUSTERSET_USER, password=password)


async def make_context(
    req: OperationRequest,
    env: OperationEnv,
    *,
    on_progress: ProgressCallback | None = None,
    resume: CloneProgress | None = None,
) -> StepContext:
    creds = await credentials_for(req.spec, req.clusterset.namespace, env)
    return StepContext(req, env, creds, on_progress=on_progress, resume=resume)


# ================================================================================ entry points


async def plan_operation(req: OperationRequest, *, env: OperationEnv) -> OperationPlan:
    """Dry run: the steps of the operation and, for each, whether its probe says it is done.

    A probe that cannot run (e.g. an earlier step's effect is missing, or a server is unreachable)
    counts as not done; non-retryable errors of the credentials themselves propagate.
    """
    steps = build_steps(req)
    ctx = await make_context(req, env)
    planned: list[StepPlan] = []
    for step in steps:
        try:
            done = await step.probe(ctx)
        except (AccessDenied, MissingPrivilege):
            raise  # a dry run with wrong credentials must say so, not report "not done"
        except ClusterSetError as e:
            log.info("probe of %s/%s could not decide: %s", req.kind.value, step.name, e)
            done = False
        ctx.req = ctx.req.model_copy(update={"context": {**ctx.req.context, **ctx.outputs}})
        planned.append(
            StepPlan(name=step.name, summary=step.summary, done=done, long_running=step.long_running)
        )
    return OperationPlan(kind=req.kind, target_cluster=req.target_cluster, steps=planned)


async def run_step(
    inp: StepInput,
    *,
    env: OperationEnv,
    on_progress: ProgressCallback | None = None,
    resume: CloneProgress | None = None,
) -> StepResult:
    """Run one step: probe; act only when the probe says not done. Raises typed ClusterSetErrors."""
    steps = {s.name: s for s in build_steps(inp.request)}
    step = steps.get(inp.step)
    if step is None:
        raise InvalidRequest(
            f"operation {inp.request.kind.value} has no step {inp.step!r} (steps: {', '.join(steps)})"
        )
    ctx = await make_context(inp.request, env, on_progress=on_progress, resume=resume)
    if await step.probe(ctx):
        return StepResult(step=step.name, already_done=True, message="already done", outputs=ctx.outputs)
    outputs = await step.act(ctx) or {}
    return StepResult(
        step=step.name, already_done=False, message=step.summary, outputs={**ctx.outputs, **outputs}
    )


async def observe_clusterset(inp: ObserveInput, *, env: OperationEnv) -> ClusterSetObservation:
    """One status round (spec §3) over warm pools."""
    from activities.status import observe

    creds = await credentials_for(inp.spec, inp.clusterset.namespace, env)
    return await observe(inp, env=env, creds=creds)
