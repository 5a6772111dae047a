"""Small but real PNG photos (intake checks images by their bytes), different for every report."""

from __future__ import annotations

import hashlib
import random
import struct
import zlib


def png(rng: random.Random, size: int = 16) -> bytes:
    """A `size`×`size` RGB image of random colour blocks: a valid PNG a viewer opens."""
    base = [rng.randrange(256) for _ in range(3)]
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            shade = ((x // 4) + (y // 4)) % 2 * 40
            row += bytes((c + shade + rng.randrange(8)) % 256 for c in base)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def photo_ref(rng: random.Random, taken_at: str) -> dict[str, object]:
    """A photo as the case API takes it: where the handling or verifying app uploaded it, and its digest."""
    data = png(rng)
    digest = hashlib.sha256(data).hexdigest()
    return {
        "uri": f"https://media.sim.cityloop.invalid/{digest}.png",
        "sha256": digest,
        "content_type": "image/png",
        "size": len(data),
        "taken_at": taken_at,
    }
