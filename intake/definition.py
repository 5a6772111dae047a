"""The intake service as the runtime runs it."""

from __future__ import annotations

from intake import progress, retention, wechat
from intake.config import IntakeSettings
from intake.endpoints import ROUTERS
from intake.handlers import HANDLERS, TOPICS, fold
from intake.models import metadata
from intake.photos import LocalPhotoStore
from intake.pii import ContactVault
from intake.registry import Registry
from intake.service import Intake
from shared.service import ConsumerSpec, ServiceDefinition, ServiceRuntime


async def start(runtime: ServiceRuntime) -> None:
    """Build intake's singletons from settings: registries, photo store, PII vault, WeChat protocol."""
    config = IntakeSettings()
    settings = runtime.settings
    registry = Registry.from_files(
        config.cameras_file, config.devices_file, config.video_algorithms_file, config.open311_services_file
    )
    runtime.services["intake"] = Intake(
        config=config,
        settings=settings,
        registry=registry,
        vault=ContactVault(settings.pii_key.get_secret_value()),
        photos=LocalPhotoStore(settings.media_dir),
        clock=runtime.clock,
        outbox=runtime.outbox,
        transaction=runtime.transaction,
    )
    runtime.services["wechat"] = wechat.WeChatProtocol(
        settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id
    )
    runtime.services["intake.progress"] = progress.ProgressSender.build(runtime, config)


async def is_idle(runtime: ServiceRuntime) -> bool:
    sender: progress.ProgressSender | None = runtime.services.get("intake.progress")
    if sender is not None and await sender.any_due():
        return False
    async with runtime.sessions() as session:
        return not await wechat.drafts_due(runtime.services["intake"], session)


SERVICE = ServiceDefinition(
    name="intake",
    package="intake",
    metadata=metadata,
    routers=ROUTERS,
    consumers=[ConsumerSpec(group="intake-status", handlers=HANDLERS, topics=TOPICS, fold=fold, follower=True)],
    workers=[wechat.housekeeping, progress.progress_worker, retention.retention_worker],
    on_startup=start,
    is_idle=is_idle,
)
