"""The analytics service as the runtime runs it."""

from __future__ import annotations

from analytics import handlers, repository
from analytics.config import AnalyticsSettings, ScoringConfig
from analytics.endpoints import router
from analytics.models import metadata
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime


async def on_startup(runtime: ServiceRuntime) -> None:
    settings = AnalyticsSettings()
    runtime.services["settings"] = settings
    runtime.services["scoring"] = ScoringConfig.load(settings.scoring_path)


SERVICE = ServiceDefinition(
    name="analytics",
    package="analytics",
    metadata=metadata,
    routers=[router],
    consumers=[
        ConsumerSpec(
            group=handlers.CONSUMER,
            handlers=handlers.HANDLERS,
            topics=handlers.TOPICS,
            fold=handlers.fold,
            follower=True,
        )
    ],
    on_startup=on_startup,
    reset=repository.truncate,
)
