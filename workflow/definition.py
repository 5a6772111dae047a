"""The workflow service as the runtime sees it: tables, routers, consumers, the timer worker."""

from __future__ import annotations

from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime
from workflow.endpoints import router
from workflow.handlers import HANDLERS, TOPICS, prepare
from workflow.models import metadata
from workflow.service import Workflow
from workflow.timers import TimerPoller, timer_worker, timers_idle


async def on_startup(runtime: ServiceRuntime) -> None:
    wf = Workflow.load()
    runtime.services["workflow"] = wf
    runtime.services["workflow.timers"] = TimerPoller(
        runtime.sessions, runtime.outbox, runtime.clock, wf.departments, batch_size=runtime.settings.timer_batch_size
    )


SERVICE = ServiceDefinition(
    name="workflow",
    package="workflow",
    metadata=metadata,
    routers=[router],
    consumers=[ConsumerSpec(group="workflow", handlers=HANDLERS, topics=TOPICS, prepare=prepare)],
    workers=[timer_worker],
    on_startup=on_startup,
    is_idle=timers_idle,
)
