"""AllOrchestratedOrderWorkflow: the same saga, with the side effects as activities.

The benchmark's counterpoint to the hybrid design: instead of publishing one event for the
consumers, the workflow itself emails the customer, records analytics and credits loyalty
points, and its result is only available once all three are done. Not used in production.
"""

import asyncio

from temporalio import workflow

from workflows.order import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from bench.effect_activities import EffectActivities
    from contracts.events import OrderCompletedV1, OrderFailedV1
    from contracts.order import OrderRequest, OrderResult
    from contracts.steps import PublishEvent


@workflow.defn
class AllOrchestratedOrderWorkflow(OrderWorkflow):
    @workflow.run
    async def run(self, request: OrderRequest) -> OrderResult:
        return await super().run(request)

    async def _publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        """Run the three side effects in parallel, each retried until it succeeds."""
        command = PublishEvent(event=event)
        steps = [
            self._onward("notify_customer", EffectActivities.notify_customer, command),
            self._onward("record_analytics", EffectActivities.record_analytics, command),
        ]
        if isinstance(event, OrderCompletedV1):  # failed orders earn no points
            steps.append(self._onward("credit_loyalty", EffectActivities.credit_loyalty, command))
        await asyncio.gather(*steps)
