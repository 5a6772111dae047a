"""The hotline's webhook signature: HMAC-SHA256 over `<timestamp>.<raw body>`, within a replay window.

Headers: `X-Hotline-Timestamp` (Unix seconds) and `X-Hotline-Signature` (hex digest, `sha256=` prefix
optional). A request is refused when unsigned, badly signed, outside the window, or — checked against the
database by the caller — when the same signature was already received (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from shared.errors import Unauthorized

TIMESTAMP_HEADER = "X-Hotline-Timestamp"
SIGNATURE_HEADER = "X-Hotline-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """What the hotline system sends; used by tests, the benchmark and the simulator."""
    timestamp = str(int(now.timestamp()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, *, now: datetime, window_s: int
) -> str:
    """Check a request; returns the signature (lower-case hex) for the replay check."""
    if not timestamp:
        raise Unauthorized("missing signature timestamp", field=TIMESTAMP_HEADER)
    if not signature:
        raise Unauthorized("missing signature", field=SIGNATURE_HEADER)
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise Unauthorized("timestamp must be Unix seconds", field=TIMESTAMP_HEADER) from exc
    skew = abs(now.timestamp() - sent)
    if skew > window_s:
        raise Unauthorized(
            f"timestamp is {skew:.0f} s from server time; the window is {window_s} s", field=TIMESTAMP_HEADER
        )
    given = signature.strip().lower().removeprefix("sha256=")
    if not hmac.compare_digest(given, sign(secret, timestamp, body)):
        raise Unauthorized("signature does not match the body and timestamp", field=SIGNATURE_HEADER)
    return given
