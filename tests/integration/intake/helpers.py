"""Shared by intake's integration and e2e tests: a small registry, signed hotline calls, tiny images."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from PIL import Image

from intake.definition import SERVICE
from intake.signing import signed_headers
from shared.clock import ManualClock
from tests.support.harness import RunningPlatform, running_platform

HOTLINE_SECRET = "test-hotline-secret"
T0 = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in Beijing, a Monday

CAMERAS_YAML = """\
cameras:
  - camera_id: CAM-001
    name: 东直门南大街口
    lon: 116.4342
    lat: 39.9405
    cell_code: "110101001001"
    street_code: "110101001"
    algorithms: [street_vending, exposed_garbage, illegal_parking]
  - camera_id: CAM-002
    name: 雍和宫大街
    lon: 116.4171
    lat: 39.9476
    cell_code: "110101002003"
    street_code: "110101002"
    algorithms: [exposed_garbage]
"""
DEVICES_YAML = """\
devices:
  - device_id: SMK-01
    type: smoke
    name: 北新桥社区配电室烟感
    lon: 116.4178
    lat: 39.9409
    cell_code: "110101002001"
    street_code: "110101002"
  - device_id: MH-07
    type: manhole_tilt
    name: 东四北大街井盖
    lon: 116.4170
    lat: 39.9335
"""


def jpeg(extra: bytes = b"", size: tuple[int, int] = (8, 8)) -> bytes:
    """A real, decodable JPEG; `extra` bytes after its end make it bigger (decoders ignore trailing bytes)."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue() + extra


def png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def intake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point intake at a small camera/device registry written for the test."""
    (tmp_path / "cameras.yaml").write_text(CAMERAS_YAML, encoding="utf-8")
    (tmp_path / "devices.yaml").write_text(DEVICES_YAML, encoding="utf-8")
    monkeypatch.setenv("CITYLOOP_INTAKE_CAMERAS_FILE", str(tmp_path / "cameras.yaml"))
    monkeypatch.setenv("CITYLOOP_INTAKE_DEVICES_FILE", str(tmp_path / "devices.yaml"))
    yield tmp_path


@asynccontextmanager
async def intake_platform(
    pg_url: str, tmp_path: Path, *, clock: ManualClock | None = None, **settings: Any
) -> AsyncIterator[RunningPlatform]:
    overrides: dict[str, Any] = {"hotline_hmac_secret": HOTLINE_SECRET, "media_dir": tmp_path / "media"}
    overrides.update(settings)
    async with running_platform(pg_url, [SERVICE], clock=clock or ManualClock(T0), **overrides) as platform:
        yield platform


def ticket(ticket_no: str = "GD20250310-0001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket_no": ticket_no,
        "call_time": "2025-03-10T09:12:00+08:00",
        "caller": {"name": "王女士", "phone": "13812345678"},
        "content": "东直门南大街路口有人占道摆摊，影响通行",
        "address": "东城区东直门南大街5号",
        "category": {"code": "0401", "name": "占道经营"},
        "urgency": "normal",
        "hotline_class": "general",
    }
    body.update(changes)
    return body


def signed(body: dict[str, Any] | bytes, now: datetime, secret: str = HOTLINE_SECRET) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return raw, signed_headers(secret, raw, now)


async def post_ticket(p: RunningPlatform, body: dict[str, Any], now: datetime = T0) -> Any:
    raw, headers = signed(body, now)
    return await p.client.post("/v1/hotline/tickets", content=raw, headers=headers)
