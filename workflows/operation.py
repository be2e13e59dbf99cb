"""The "ClusterSetOperation" child workflow: one operation, planned, then run step by step.

It reads like a runbook in the Temporal Web UI: the plan activity lists the steps, each step is one
activity whose summary is the plan's one-line description, and `workflow.set_current_details` shows the
checklist with the step being run. Steps probe before they act, so every step of the plan is run (a step
whose effect is in place returns ``already_done`` and the outputs later steps need).

Failure: a step that fails for good (a non-retryable error, or retries exhausted) ends the operation with
an `ApplicationError` carrying the step's error type, so the entity workflow can record it, set a
condition and tell a human what to do. Cancellation (a forced failover preempting this operation): the
running activity is cancelled and the workflow waits until it has stopped, then ends as cancelled.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import non_retryable_type_names
    from activities.models import OperationPlan, OperationRequest, StepInput, StepPlan, StepResult
    from workflows import names
    from workflows.models import (
        OperationWorkflowInput,
        OperationWorkflowResult,
        StepOutcome,
        WorkflowTuning,
    )

# The error classes of activities/errors.py that must not be retried (their names are the failure types);
# the activity wrappers also mark them non_retryable, this list is the second lock.
NON_RETRYABLE_TYPES = non_retryable_type_names()


def step_retry_policy(tuning: WorkflowTuning, *, attempts: int) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=tuning.retry_maximum_interval_seconds),
        maximum_attempts=attempts,
        non_retryable_error_types=NON_RETRYABLE_TYPES,
    )


def failure_of(err: BaseException) -> tuple[str, str]:
    """(type, message) of the innermost ApplicationError under `err`."""
    cause: BaseException | None = err
    found: tuple[str, str] = (type(err).__name__, str(err))
    while cause is not None:
        if isinstance(cause, ApplicationError):
            found = (cause.type or "ApplicationError", cause.message)
        cause = cause.__cause__
    return found


def checklist(plan: OperationPlan, *, current: int, title: str) -> str:
    """Markdown for the UI: the plan's steps, ticked off."""
    lines = [f"### {title}", ""]
    for i, step in enumerate(plan.steps):
        mark = "x" if i < current else " "
        arrow = " ← running" if i == current else ""
        lines.append(f"- [{mark}] `{step.name}`: {step.summary}{arrow}")
    return "\n".join(lines)


@workflow.defn(name=names.OPERATION_WORKFLOW)
class OperationWorkflow:
    """Runs one ClusterSet operation (bootstrap, join, switchover, failover, ...)."""

    @workflow.run
    async def run(self, inp: OperationWorkflowInput) -> OperationWorkflowResult:
        req = inp.request
        tuning = inp.tuning
        title = f"{req.kind.value} {req.target_cluster or ''}".strip()
        workflow.set_current_details(f"### {title}\n\nplanning")
        plan = await workflow.execute_activity(
            names.ACTIVITY_PLAN,
            req,
            result_type=OperationPlan,
            start_to_close_timeout=timedelta(seconds=tuning.observe_start_to_close_seconds),
            heartbeat_timeout=timedelta(seconds=tuning.step_heartbeat_timeout_seconds),
            retry_policy=step_retry_policy(tuning, attempts=tuning.step_maximum_attempts),
            summary=f"plan {title}",
        )
        context = dict(req.context)
        outcomes: list[StepOutcome] = []
        for index, step in enumerate(plan.steps):
            workflow.set_current_details(checklist(plan, current=index, title=title))
            step_req = req.model_copy(update={"context": dict(context)})
            try:
                result = await self._run_step(step, StepInput(request=step_req, step=step.name), tuning)
            except ActivityError as err:
                error_type, message = failure_of(err)
                workflow.set_current_details(
                    checklist(plan, current=index, title=title) + f"\n\nfailed: {message}"
                )
                raise ApplicationError(
                    f"step {step.name} of {title} failed: {message}",
                    {"step": step.name, "error_type": error_type},
                    type=error_type,
                    non_retryable=True,
                ) from err
            context.update(result.outputs)
            outcomes.append(
                StepOutcome(step=step.name, already_done=result.already_done, message=result.message)
            )
        workflow.set_current_details(checklist(plan, current=len(plan.steps), title=title) + "\n\ndone")
        outputs = {k: v for k, v in context.items() if k not in req.context}
        return OperationWorkflowResult(
            operation_id=req.operation_id,
            kind=req.kind,
            target_cluster=req.target_cluster,
            steps=outcomes,
            outputs=outputs,
        )

    async def _run_step(self, step: StepPlan, inp: StepInput, tuning: WorkflowTuning) -> StepResult:
        if step.long_running:
            result: StepResult = await workflow.execute_activity(
                names.ACTIVITY_CLONE_STEP,
                inp,
                result_type=StepResult,
                start_to_close_timeout=timedelta(seconds=tuning.clone_start_to_close_seconds),
                heartbeat_timeout=timedelta(seconds=tuning.clone_heartbeat_timeout_seconds),
                retry_policy=step_retry_policy(tuning, attempts=tuning.clone_maximum_attempts),
                cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=step.summary,
            )
            return result
        result = await workflow.execute_activity(
            names.ACTIVITY_STEP,
            inp,
            result_type=StepResult,
            start_to_close_timeout=timedelta(seconds=tuning.step_start_to_close_seconds),
            heartbeat_timeout=timedelta(seconds=tuning.step_heartbeat_timeout_seconds),
            retry_policy=step_retry_policy(tuning, attempts=tuning.step_maximum_attempts),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=step.summary,
        )
        return result


@workflow.defn(name=names.DRY_RUN_WORKFLOW)
class DryRunWorkflow:
    """`csctl plan`: run only the plan activity (every probe, nothing changed) and return the plan."""

    @workflow.run
    async def run(self, req: OperationRequest) -> OperationPlan:
        plan: OperationPlan = await workflow.execute_activity(
            names.ACTIVITY_PLAN,
            req,
            result_type=OperationPlan,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=2, non_retryable_error_types=NON_RETRYABLE_TYPES),
            summary=f"dry run of {req.kind.value} {req.target_cluster or ''}".strip(),
        )
        return plan
