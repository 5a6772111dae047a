"""Process settings from the environment (prefix `CITYLOOP_`) or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_", env_file=".env", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("var")
    database_url: str = ""
    bus: Literal["local", "kafka"] = "local"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_client_id: str = "cityloop"
    kafka_replication_factor: int = 1
    """For the topics the platform creates; 3 on a production cluster (with min.insync.replicas=2 there)."""
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    jwt_secret: SecretStr = SecretStr("dev-only-jwt-secret-change-me-in-production")
    jwt_issuer: str = "cityloop"
    jwt_ttl_seconds: int = 8 * 3600
    api_keys: dict[str, str] = {}
    """API key -> client name, e.g. {"k-123": "hotline"}; set CITYLOOP_API_KEYS as JSON."""
    users_file: Path = Path("deploy/demo/users.yaml")
    pii_key: SecretStr = SecretStr("dev-only-pii-key-change-me-32bytes!!")

    hotline_hmac_secret: SecretStr = SecretStr("dev-only-hotline-secret")
    hotline_replay_window_s: int = 300
    wechat_token: str = "cityloop"
    wechat_aes_key: str = ""
    wechat_app_id: str = ""
    media_dir: Path = Path("var/media")
    max_photo_bytes: int = 10 * 1024 * 1024

    consumer_max_attempts: int = 5
    consumer_batch_size: int = 500
    outbox_batch_size: int = 500
    timer_batch_size: int = 500
    poll_interval_s: float = 0.2
    run_workers: bool = True
    clock_speed: float = 1.0
    """City time per wall-clock time; above 1 only for demos (`make run` uses it so deadlines move in minutes)."""
    clock_start: Literal["now", "next-opening"] = "now"
    """Where a new accelerated city clock starts: now, or at the next opening of office hours that begins two
    working days (`make run`: office-hour deadlines move from the first minute, whatever the day it is run)."""
    log_level: str = "INFO"
    log_json: bool = True


@lru_cache
def get_settings() -> Settings:
    return Settings()
