"""The router service as the runtime sees it: tables, API, consumers, the rules watcher."""

from __future__ import annotations

import asyncio

from router.config import RouterSettings
from router.endpoints import router
from router.handlers import HANDLERS, TOPICS, fold, prepare
from router.models import metadata
from router.reference import ReferenceData
from router.service import RouterService
from shared.logging import get_logger
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime

log = get_logger(__name__)


async def on_startup(runtime: ServiceRuntime) -> None:
    settings = RouterSettings()
    # Loading the grid and training the classifier take seconds of CPU: keep the event loop free meanwhile.
    ref = await asyncio.to_thread(ReferenceData.cached, settings)
    runtime.services["router.reference"] = ref
    async with runtime.transaction() as session:
        rules = await RouterService.initial_rules(session, ref, settings, runtime.clock.now())
    runtime.services["router"] = RouterService(ref, rules, settings)


async def watch_rules(runtime: ServiceRuntime) -> None:
    """Puts in force a rule set another replica stored, within `rules_poll_s`."""
    svc: RouterService = runtime.services["router"]
    while True:
        await asyncio.sleep(svc.settings.rules_poll_s)
        try:
            async with runtime.transaction() as session:
                newer = await svc.refresh(session)
            if newer is not None:
                svc.install(newer)
        except Exception:  # a database blip must not stop the watcher; the next round retries
            log.exception("router_rules_watch_failed")


SERVICE = ServiceDefinition(
    name="router",
    package="router",
    metadata=metadata,
    routers=[router],
    consumers=[ConsumerSpec(group="router", handlers=HANDLERS, topics=TOPICS, prepare=prepare, fold=fold)],
    workers=[watch_rules],
    on_startup=on_startup,
)
