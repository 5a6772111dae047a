"""Process settings from the environment (prefix `CITYLOOP_`) or a `.env` file.

Development defaults (secrets, demo users, demo API keys) make `make run` work out of the box; with
`CITYLOOP_ENVIRONMENT=prod` every process refuses to start while any of them is still in force.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_USERS_FILE = REPO_ROOT / "deploy" / "demo" / "users.yaml"
DEMO_API_KEYS = frozenset({"demo-hotline", "demo-video", "demo-iot", "demo-open311"})
"""The keys `make run` configures (Makefile); never valid in production."""
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"
DEV_PII_KEY = "dev-only-pii-key-change-me-32bytes!!"
DEV_HOTLINE_SECRET = "dev-only-hotline-secret"
DEV_WECHAT_TOKEN = "cityloop"
MIN_SECRET_BYTES = 32


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

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "cityloop"
    jwt_ttl_seconds: int = 8 * 3600
    api_keys: dict[str, str] = {}
    """API key -> client name, e.g. {"k-123": "hotline"}; set CITYLOOP_API_KEYS as JSON."""
    users_file: Path = Path("deploy/demo/users.yaml")
    pii_key: SecretStr = SecretStr(DEV_PII_KEY)
    cors_origins: list[str] = []
    """Browser origins allowed to call the API from another site (JSON list); empty: same origin only."""

    hotline_hmac_secret: SecretStr = SecretStr(DEV_HOTLINE_SECRET)
    hotline_replay_window_s: int = 300
    wechat_token: str = DEV_WECHAT_TOKEN
    wechat_aes_key: str = ""
    wechat_app_id: str = ""
    media_dir: Path = Path("var/media")
    max_photo_bytes: int = 10 * 1024 * 1024
    max_photo_pixels: int = 40_000_000
    """A photo is decoded before it is accepted; more pixels than this (a decompression bomb) is refused."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body of any endpoint, refused with 413 before it is read or parsed."""
    max_body_bytes_by_path: dict[str, int] = {"/v1/video/alerts": 14 * 1024 * 1024}
    """Exceptions by path prefix: a video alert carries its snapshot base64-encoded in the JSON."""
    max_upload_bytes: int = 96 * 1024 * 1024
    """Largest multipart body (photos: up to 9 of `max_photo_bytes`), refused with 413 before parsing."""

    rate_limit_storage: str = "memory://"
    """Where rate-limit counters live (a `limits` storage URI). `memory://` counts per process, so with N
    replicas a client gets up to N times its limit; `redis://host:6379` shares the counters between replicas."""
    rate_limit_client: str = "100/second"
    """Per API client (X-API-Key), across every endpoint; `limits` notation, `;` between several."""
    rate_limit_user: str = "20/second;600/minute"
    """Per signed-in user (JWT subject), across every endpoint."""
    rate_limit_login: str = "10/minute"
    """Per username on POST /v1/auth/token: slows password guessing."""
    rate_limit_hotline: str = "50/second"
    """The 12345 webhook's own limit (signed by HMAC, not by an API key), shared by all its calls."""
    rate_limit_report_misses: str = "30/minute"
    """Report/contact/photo lookups that find nothing, per caller: past it, 429 and an alertable metric."""

    consumer_max_attempts: int = 5
    consumer_batch_size: int = 500
    consumer_linger_ms: float = Field(default=50, ge=0, le=1000)
    """How long a consumer waits for more messages once some are there, at most: every batch costs one
    transaction (and its statements) whatever its size, so a longer linger buys CPU per event with latency. On
    Kafka the broker holds the fetch that long (`fetch.max.wait.ms`); the in-process bus waits only its share
    of it when it found few (`shared.bus.base.linger_for`)."""
    follower_linger_ms: float = Field(default=1000, ge=0, le=5000)
    """The same for consumer groups off the path from report to case (`ConsumerSpec.follower`: read models and
    fan-outs such as analytics, report status and webhooks): they trade a second of freshness for batches
    many times bigger, and each batch's fixed statements (analytics' rollup upserts above all) are shared by
    more events. At 300 reports/s, 1000 instead of 250 ms took PostgreSQL from 1.46 to 1.25 ms per report."""
    group_commit_linger_ms: float = Field(default=20, ge=0, le=1000)
    """How long intake gathers requests before their shared transaction, at most (`shared.batching`): each
    flush costs its statements whatever its size, so under load a few milliseconds more before the
    acknowledgement buy bigger flushes; after small flushes it waits only its share of it. A flush holds at
    most `Platform.HTTP_WRITES` requests, the writes running at once."""
    outbox_batch_size: int = 500
    outbox_linger_ms: float = Field(default=20, ge=0, le=1000)
    """How long the relay waits after a commit wakes it, at most, so commits close together go out in one batch
    (in proportion to what its last round sent, as consumers do)."""
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

    def production_problems(self) -> list[str]:
        """Every setting that must not be in force in production, named, with the reason."""
        problems = []
        for name, default in (
            ("jwt_secret", DEV_JWT_SECRET),
            ("pii_key", DEV_PII_KEY),
            ("hotline_hmac_secret", DEV_HOTLINE_SECRET),
        ):
            value = getattr(self, name).get_secret_value()
            if value == default:
                problems.append(f"CITYLOOP_{name.upper()}: still the development default")
            elif len(value.encode()) < MIN_SECRET_BYTES:
                problems.append(f"CITYLOOP_{name.upper()}: shorter than {MIN_SECRET_BYTES} bytes")
        if self.wechat_token == DEV_WECHAT_TOKEN:
            problems.append("CITYLOOP_WECHAT_TOKEN: still the development default")
        if _is_demo_users(self.users_file):
            problems.append(f"CITYLOOP_USERS_FILE: the demo users file {DEMO_USERS_FILE} (every password is 'demo')")
        for key, client in self.api_keys.items():
            if key in DEMO_API_KEYS:
                problems.append(f"CITYLOOP_API_KEYS: the demo key of {client!r}")
            elif len(key.encode()) < MIN_SECRET_BYTES:
                problems.append(f"CITYLOOP_API_KEYS: the key of {client!r} is shorter than {MIN_SECRET_BYTES} bytes")
        if "*" in self.cors_origins:
            problems.append("CITYLOOP_CORS_ORIGINS: open to any origin ('*')")
        return problems

    def refuse_unsafe(self) -> None:
        """In production, raise `UnsafeSettings` naming every offending setting; elsewhere do nothing."""
        if self.environment == "prod" and (problems := self.production_problems()):
            raise UnsafeSettings(problems)


def _is_demo_users(path: Path) -> bool:
    if path.resolve() == DEMO_USERS_FILE:
        return True
    try:  # a copy of the demo file elsewhere is still the demo users
        return path.is_file() and path.read_bytes() == DEMO_USERS_FILE.read_bytes()
    except OSError:
        return False


class UnsafeSettings(RuntimeError):
    """Production was asked to start with development secrets, demo users or demo keys, or open CORS."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start with CITYLOOP_ENVIRONMENT=prod: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.refuse_unsafe()
    return settings
