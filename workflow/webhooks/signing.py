"""Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature), via the reference library."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    """`whsec_` + base64 of 24 random bytes, the format Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(msg_id: str, body: bytes, secrets_: Sequence[str], at: datetime | None = None) -> dict[str, str]:
    """Headers of one delivery: one `v1,` signature per valid secret (two during a rotation window).

    The timestamp is wall time, never the city clock: receivers reject a timestamp more than five
    minutes from their own clock.
    """
    at = at or datetime.now(UTC)
    data = body.decode()
    signatures = " ".join(Webhook(s).sign(msg_id, at, data) for s in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/cloudevents+json; charset=utf-8",
    }
