"""Histories recorded from earlier versions of OrderWorkflow must replay on today's code.

A change to the workflow's command sequence that is not guarded by `workflow.patched()` breaks
every order in flight; these tests catch it before deployment.
"""

from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.runtime.payloads import PLAIN_CONVERTER
from workflows.order import SETTLE_CANCEL_AT_PIVOT_PATCH, OrderWorkflow
from workflows.order_undo import ORDER_WORKFLOWS
from workflows.policies import StepPolicy
from workflows.review import MANUAL_REVIEW_PATCH

with workflow.unsafe.imports_passed_through():
    from contracts.order import OrderRequest, OrderResult

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_histories_are_present() -> None:
    assert len(HISTORIES) >= 5, "recorded histories are missing from tests/histories"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_history_replays_on_the_current_workflow(path: Path) -> None:
    replayer = Replayer(workflows=ORDER_WORKFLOWS, data_converter=PLAIN_CONVERTER)
    await replayer.replay_workflow(load(path))


@workflow.defn(name="OrderWorkflow")
class ChargeBeforeReserve(OrderWorkflow):
    """The saga with two steps swapped and no patch: what a careless change looks like."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderResult:
        await self._create_order()
        payment_id = await self._charge_payment()
        await self._reserve_stock()
        await self._confirm_order()
        return await self._complete(payment_id)


@workflow.defn(name="OrderWorkflow")
class FraudCheckWithoutPatch(OrderWorkflow):
    """The fraud screen added the careless way: unconditionally, with no `workflow.patched`."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderResult:
        self._index_order()
        await self._create_order()
        await self._reserve_stock()
        await self._screen_for_fraud()
        payment_id = await self._charge_payment()
        await self._confirm_order()
        return await self._complete(payment_id)


async def test_the_fraud_check_without_its_patch_fails_replay_of_older_histories() -> None:
    replayer = Replayer(workflows=[FraudCheckWithoutPatch], data_converter=PLAIN_CONVERTER)
    older = next(p for p in HISTORIES if p.stem == "v2-completed")
    result = await replayer.replay_workflow(load(older), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


async def test_an_unpatched_reordering_fails_replay() -> None:
    replayer = Replayer(workflows=[ChargeBeforeReserve], data_converter=PLAIN_CONVERTER)
    completed = next(p for p in HISTORIES if p.stem.endswith("-completed"))
    result = await replayer.replay_workflow(load(completed), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert (
        "Nondeterminism" in type(result.replay_failure).__name__
        or "nondetermin" in str(result.replay_failure).lower()
    )


def test_v4_histories_cover_temporal_cancels_and_a_stuck_compensation() -> None:
    ends = {p.stem: load(p).events[-1].event_type for p in HISTORIES if p.stem.startswith("v4-")}
    assert ends["v4-temporal_cancelled"] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    assert ends["v4-cancel_too_late"] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert ends["v4-stuck"] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert ends["v4-stuck-run2"] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@workflow.defn(name="OrderWorkflow")
class LocalStepsWithoutPatch(OrderWorkflow):
    """The local steps introduced the careless way, with no `workflow.patched`."""

    @workflow.run
    async def run(self, request: OrderRequest) -> OrderResult:
        return await super().run(request)

    def _start(
        self, name: str, activity: Any, command: object, policy: StepPolicy
    ) -> "workflow.ActivityHandle[Any]":
        if not policy.local:
            return super()._start(name, activity, command, policy)
        return workflow.start_local_activity_method(
            activity, command, start_to_close_timeout=policy.start_to_close
        )


async def test_the_local_steps_without_their_patch_fail_replay_of_older_histories() -> None:
    replayer = Replayer(workflows=[LocalStepsWithoutPatch], data_converter=PLAIN_CONVERTER)
    older = next(p for p in HISTORIES if p.stem == "v4-completed")
    result = await replayer.replay_workflow(load(older), raise_on_replay_failure=False)
    assert result.replay_failure is not None
    assert "nondetermin" in str(result.replay_failure).lower()


def test_v5_histories_run_the_database_steps_as_local_activities() -> None:
    completed = load(next(p for p in HISTORIES if p.stem == "v5-completed"))
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in completed.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    regular = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in completed.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert markers.count("core_local_activity") == 4  # create, reserve, screen, confirm
    assert regular == ["charge_payment", "publish_event"]
    versions = {p.stem.split("-", 1)[1] for p in HISTORIES if p.stem.startswith("v4-")}
    assert versions == {p.stem.split("-", 1)[1] for p in HISTORIES if p.stem.startswith("v5-")}


def test_the_v6_histories_hold_the_confirmation_update() -> None:
    """From v6 an order is placed with update-with-start: replay covers the update too."""
    for path in (p for p in HISTORIES if p.stem.startswith("v6-") and "-run" not in p.stem):
        kinds = [event.event_type for event in load(path).events]
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED in kinds, path.stem
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED in kinds, path.stem


def test_v7_histories_end_each_order_as_its_outcome_reads() -> None:
    """From v7 an undone order fails its run, a Temporal cancel cancels it, behind a patch."""
    ends = {p.stem: load(p).events[-1].event_type for p in HISTORIES if p.stem.startswith("v7-")}
    failed = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    completed = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert ends == {
        "v7-completed": completed,
        "v7-transient": completed,
        "v7-cancel_too_late": completed,
        "v7-declined": failed,
        "v7-out_of_stock": failed,
        "v7-fraud": failed,
        "v7-cancelled": failed,  # the customer's cancel: OrderCancelled
        "v7-stuck": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        "v7-stuck-run2": failed,
        "v7-temporal_cancelled": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    }
    versions = {p.stem.split("-", 1)[1] for p in HISTORIES if p.stem.startswith("v6-")}
    assert versions == {p.stem.split("-", 1)[1] for p in HISTORIES if p.stem.startswith("v7-")}


def test_older_histories_replay_with_other_activity_summaries() -> None:
    """Summaries are user metadata, not commands: the v6 histories hold the old ones (the
    activity type again) and still replay (test_recorded_history_replays_...)."""
    summaries = [
        e.user_metadata.summary.data
        for e in load(next(p for p in HISTORIES if p.stem == "v6-declined")).events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert b'"charge_payment"' in summaries


def test_the_v8_histories_hold_the_review_patch_its_window_and_each_ending() -> None:
    """From v8 a risky order waits for a reviewer behind the `manual-review` patch."""
    ends = {}
    for path in (p for p in HISTORIES if p.stem.startswith("v8-review_")):
        events = load(path).events
        markers = [
            e.marker_recorded_event_attributes.details["patch-data"]
            for e in events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and e.marker_recorded_event_attributes.marker_name == "core_patch"
        ]
        assert any(MANUAL_REVIEW_PATCH.encode() in m.payloads[0].data for m in markers), path.stem
        assert EventType.EVENT_TYPE_TIMER_STARTED in [e.event_type for e in events], path.stem
        ends[path.stem.removeprefix("v8-review_")] = events[-1].event_type
    assert ends == {
        "approved": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        "rejected": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        "timeout": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        "cancelled": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        "temporal_cancelled": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    }


def test_the_v9_history_undoes_the_local_steps_a_cancel_stopped_the_run_before() -> None:
    """From v9 a cancelled order undoes create and reserve whether or not its history reached
    them (`undo-unrecorded-local-steps`): here the cancel came before the first step."""
    events = load(next(p for p in HISTORIES if p.stem == "v9-cancel_before_first_step")).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["release_stock", "cancel_order", "publish_event"]
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED


@pytest.mark.parametrize(
    ("stem", "undone"),
    [
        ("v10-cancel_after_lost_confirm", False),
        ("v10-temporal_cancel_after_lost_confirm", False),
        ("v10-cancel_after_charge", True),
        ("v10-temporal_cancel_after_charge", True),
    ],
)
def test_the_v10_histories_settle_a_charged_orders_cancel_with_the_orders_service(
    stem: str, undone: bool
) -> None:
    """From v10 a cancel meeting a charged order asks the orders service first whether a lost
    task confirmed it (`settle-cancel-at-pivot`): confirmed, it completes; if not, it is undone."""
    events = load(next(p for p in HISTORIES if p.stem == stem)).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    undo = ["refund_payment", "release_stock", "cancel_order"] if undone else []
    assert scheduled == ["charge_payment", "cancel_unless_confirmed", *undo, "publish_event"]
    markers = [
        e.marker_recorded_event_attributes.details["patch-data"]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert any(SETTLE_CANCEL_AT_PIVOT_PATCH.encode() in m.payloads[0].data for m in markers)
    ended = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    if undone:
        ended = (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
            if "temporal" in stem
            else EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
        )
    assert events[-1].event_type == ended
