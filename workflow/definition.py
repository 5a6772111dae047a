"""The workflow service as the runtime sees it: tables, routers, consumers, the timer worker."""

from __future__ import annotations

from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime
from workflow.endpoints import router
from workflow.handlers import HANDLERS, TOPICS, fold, prepare
from workflow.models import metadata
from workflow.patrol import PatrolSettings, load_grids
from workflow.patrol import router as patrol_router
from workflow.schedule import Steps
from workflow.service import Workflow
from workflow.timers import TimerPoller, timer_worker, timers_idle
from workflow.webhooks import handlers as webhook_handlers
from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.delivery import Deliverer, deliverer_of, ensure_hotline_subscription, webhook_worker
from workflow.webhooks.endpoints import hotline_router
from workflow.webhooks.endpoints import router as subscriptions_router


async def on_startup(runtime: ServiceRuntime) -> None:
    wf = Workflow.load()
    runtime.services["workflow"] = wf
    runtime.services["workflow.timers"] = TimerPoller(
        runtime.sessions,
        runtime.outbox,
        runtime.clock,
        wf.departments,
        Steps(wf.clockwork, wf.rules),
        batch_size=runtime.settings.timer_batch_size,
    )
    runtime.services["workflow.patrol_grids"] = load_grids(PatrolSettings().patrol_grids_path)
    hooks = WebhookSettings()
    runtime.services["workflow.webhook_settings"] = hooks
    runtime.services["workflow.webhooks"] = Deliverer(
        runtime.sessions, runtime.clock, hooks, runtime.settings.hotline_hmac_secret.get_secret_value()
    )
    await ensure_hotline_subscription(runtime, hooks)


async def is_idle(runtime: ServiceRuntime) -> bool:
    """No timer due and no webhook delivery due or in flight."""
    return await timers_idle(runtime) and not await deliverer_of(runtime).any_due()


SERVICE = ServiceDefinition(
    name="workflow",
    package="workflow",
    metadata=metadata,
    routers=[router, subscriptions_router, hotline_router, patrol_router],
    consumers=[
        ConsumerSpec(group="workflow", handlers=HANDLERS, topics=TOPICS, prepare=prepare, fold=fold),
        ConsumerSpec(
            group=webhook_handlers.GROUP,
            handlers=webhook_handlers.HANDLERS,
            topics=webhook_handlers.TOPICS,
            batch=webhook_handlers.batch,
            follower=True,
        ),
    ],
    workers=[timer_worker, webhook_worker],
    on_startup=on_startup,
    is_idle=is_idle,
)
