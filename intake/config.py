"""Intake's own settings (prefix `CITYLOOP_INTAKE_`); the shared ones (secrets, media dir) stay in `Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parent / "data"


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_INTAKE_", env_file=".env", extra="ignore")

    cameras_file: Path = REPO_ROOT / "deploy" / "demo" / "cameras.yaml"
    devices_file: Path = REPO_ROOT / "deploy" / "demo" / "devices.yaml"
    video_algorithms_file: Path = DATA_DIR / "video_algorithms.yaml"
    open311_services_file: Path = DATA_DIR / "open311_services.yaml"

    video_repeat_window_s: int = 30 * 60
    """The same camera and algorithm firing again within this long after its last firing is one report."""
    wechat_session_window_s: int = 10 * 60
    """A WeChat draft is filed by itself once the citizen has been silent this long."""
    wechat_max_body_bytes: int = 64 * 1024
    max_photos: int = 9
    max_text_chars: int = 4000
    future_skew_s: int = 300
    """How far ahead of the city clock a channel's event time (call_time, captured_at, at…) may be."""
    max_age_days: dict[str, int] = {"hotline": 30, "patrol": 7, "video": 2, "iot": 2}
    """How far back a channel's event time may be: the 12345 hotline backfills up to 30 days; a patrol app
    that was offline keeps a week; cameras and sensors report within hours (set as JSON to change)."""
    pii_retention_days: int = 180
    """A reporter's phone and name are erased this many days after the case closes (crypto-shredding)."""
    pii_sweep_interval_s: float = 60.0
    """How often the erasure worker looks for reports past retention (wall-clock seconds)."""
    photo_store: Literal["local"] = "local"
    """Where photos go. Only `local` (a directory, `Settings.media_dir`) is implemented; an S3-compatible
    store fits behind `intake.photos.PhotoStore`."""
    open311_jurisdiction_id: str | None = None
    """When set, Open311 calls naming another jurisdiction are refused."""
    timezone: str = "Asia/Shanghai"
    """Local time zone for report numbers (R + local date + sequence)."""
    service_area_file: Path | None = REPO_ROOT / "deploy" / "demo" / "district.json"
    """The district (its `bbox`, WGS-84) whose Open311 requests this endpoint takes; None: anywhere."""
    service_area_margin_m: float = 10_000.0
    """Open311 points farther than this outside the district's box are refused (422 naming lat or long); nearer
    ones are taken, and the router's own edge tolerance decides whether they land in a cell or the queue."""
    wechat_app_secret: SecretStr = SecretStr("")
    """AppSecret of the official account; with CITYLOOP_WECHAT_APP_ID it turns on progress messages."""
    wechat_api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    wechat_timeout_s: float = 10.0
    wechat_max_attempts: int = 8
    wechat_service_window_s: int = Field(default=48 * 3600, ge=60, le=48 * 3600)
    """Customer-service messages reach a citizen only this long after their last message (WeChat's 48 h rule)."""
    wechat_progress_template_id: str = ""
    """Template message (模板消息) for progress after that window: `first` the text, `keyword1` the case number,
    `keyword2` the step, `keyword3` the local time, `remark` empty. Empty: progress after the window fails."""
