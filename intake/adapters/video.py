"""Alerts from the video-AI platform: registered cameras, per-algorithm category and confidence threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from intake.registry import Algorithm, Camera, Registry
from intake.schemas import VideoAlert
from shared.contracts.common import Channel, Photo, Place, Reporter
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.errors import Invalid


@dataclass(frozen=True)
class Assessment:
    camera: Camera
    algorithm: Algorithm
    accepted: bool
    reason: str | None = None


def assess(alert: VideoAlert, registry: Registry) -> Assessment:
    """Unknown camera or algorithm: refused (422). Below the algorithm's threshold: valid, but ignored."""
    camera = registry.cameras.get(alert.camera_id)
    if camera is None:
        raise Invalid(f"camera {alert.camera_id!r} is not registered", field="camera_id")
    algorithm = registry.algorithms.get(alert.algorithm)
    if algorithm is None:
        raise Invalid(f"algorithm {alert.algorithm!r} is unknown", field="algorithm")
    if camera.algorithms and alert.algorithm not in camera.algorithms:
        raise Invalid(f"camera {camera.camera_id!r} does not run {alert.algorithm!r}", field="algorithm")
    if alert.confidence < algorithm.threshold:
        reason = f"confidence {alert.confidence:.2f} is below the {algorithm.code} threshold {algorithm.threshold:.2f}"
        return Assessment(camera, algorithm, accepted=False, reason=reason)
    return Assessment(camera, algorithm, accepted=True)


def alert_to_report(
    alert: VideoAlert, found: Assessment, *, snapshot: Photo | None, report_id: str, received_at: datetime
) -> ReportReceived:
    camera, algorithm = found.camera, found.algorithm
    photos = [snapshot] if snapshot else []
    if not photos and alert.snapshot_url is not None:
        photos = [Photo(uri=str(alert.snapshot_url), taken_at=alert.captured_at)]
    return ReportReceived(
        report_id=report_id,
        channel=Channel.VIDEO,
        external_id=alert.alert_id,
        reporter=Reporter(kind="camera", id=camera.camera_id, name=camera.name or None),
        text=f"{camera.name or camera.camera_id} 视频识别：{algorithm.name}",
        category_hint=algorithm.category,
        place=Place(point=camera.location(), address=camera.address),
        grid_hint=camera.grid(),
        photos=photos,
        confidence=alert.confidence,
        occurred_at=alert.captured_at,
        received_at=received_at,
        attributes={"algorithm": algorithm.code, "camera_id": camera.camera_id, "alert_id": alert.alert_id},
    )


def repeat_event(alert: VideoAlert, *, report_id: str, count: int, snapshot: Photo | None) -> ReportUpdated:
    return ReportUpdated(
        report_id=report_id,
        kind="repeated",
        text=f"{alert.algorithm} fired again (confidence {alert.confidence:.2f})",
        photos=[snapshot] if snapshot else [],
        count=count,
        at=alert.captured_at,
    )
