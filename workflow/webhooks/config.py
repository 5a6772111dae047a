"""Webhook settings (env prefix `CITYLOOP_WEBHOOK_`)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLOOP_WEBHOOK_", env_file=".env", extra="ignore")

    allow_networks: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    """Private, loopback or link-local networks a receiver may nevertheless live in, e.g. `["10.20.0.0/16"]`
    for the government intranet (JSON list). Empty: only public addresses get deliveries (SSRF)."""
    max_attempts: int = Field(default=16, ge=1, le=100)
    """After this many failed attempts a delivery goes to the dead-letter list (replay API)."""
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_cap_s: float = Field(default=3600.0, gt=0)
    """Attempt n waits between half and all of min(cap, base·2ⁿ⁻¹) of city time (exponential, jittered)."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Per HTTP attempt; a slow receiver costs one worker slot this long, never the case pipeline."""
    lease_s: float = Field(default=60.0, gt=0)
    """Wall time a worker holds a delivery it is sending; a worker that dies lets it run out (redelivery)."""
    concurrency: int = Field(default=32, ge=1, le=1000)
    poll_interval_s: float = Field(default=0.2, gt=0)
    hotline_callback_url: str = ""
    """Where the 12345 system receives case results (办理结果); empty: no feedback. Configured by the operator,
    so the SSRF guard does not apply to it. Signed with CITYLOOP_HOTLINE_HMAC_SECRET, as inbound tickets are."""
    public_base_url: str = "http://127.0.0.1:8000"
    """How other systems reach this platform: photo URLs in the hotline feedback start with it."""
    rotation_window_s: int = Field(default=24 * 3600, ge=0)
    """Default time the previous secret still signs after a rotation."""
