"""Photos: checked by their bytes and decoded (never by what the client claims), stored content-addressed.

`PhotoStore` is the port; `LocalPhotoStore` keeps files under a directory. An S3-compatible store would
implement the same two methods (put by sha256 key, get by name).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import warnings
from pathlib import Path
from typing import Protocol

from PIL import Image

from shared.contracts.common import Photo
from shared.errors import TooLarge, UnsupportedMedia

MEDIA_ROUTE = "/v1/media"
_SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", "jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", "png")}
_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG or PNG by its magic bytes, else None."""
    for magic, kind in _SIGNATURES.items():
        if data.startswith(magic):
            return kind
    return None


def check_photo(data: bytes, *, field: str, max_bytes: int, max_pixels: int = 40_000_000) -> tuple[str, str]:
    """Refuse a photo that is too large in bytes or pixels (413) or not a decodable JPEG/PNG (415).

    Magic bytes alone let through a signature followed by zeros; so the image is verified and fully decoded
    (CPU-bound: call it off the event loop). Pixels are judged from the header, before decoding, so a
    decompression bomb is refused without being expanded. Returns the photo's type and extension.
    """
    if len(data) > max_bytes:
        raise TooLarge(f"photo is {len(data)} bytes, the limit is {max_bytes}", field=field)
    kind = sniff_image(data)
    if kind is None:
        raise UnsupportedMedia("photo must be a JPEG or PNG image (checked by its content)", field=field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides, below
            with Image.open(io.BytesIO(data), formats=[kind[1].replace("jpg", "jpeg").upper()]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise TooLarge(f"photo is {width}×{height} pixels, the limit is {max_pixels}", field=field)
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (TooLarge, UnsupportedMedia):
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own ceiling, far above ours, hit while opening
        raise TooLarge(f"photo has too many pixels: {exc}", field=field) from exc
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError…) for a bad image
        raise UnsupportedMedia(f"photo cannot be decoded as {kind[0]}: {exc}", field=field) from exc
    return kind


class PhotoStore(Protocol):
    async def put(self, data: bytes, content_type: str, extension: str) -> Photo: ...

    async def get(self, name: str) -> bytes | None: ...


class LocalPhotoStore:
    """Files under `root/ab/<sha256>.<ext>`; the same photo uploaded twice is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        return self.root / name[:2] / name

    async def put(self, data: bytes, content_type: str, extension: str) -> Photo:
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{extension}"
        path = self._path(name)
        await asyncio.to_thread(_write_once, path, data)
        return Photo(uri=f"{MEDIA_ROUTE}/{name}", sha256=digest, content_type=content_type, size=len(data))

    async def get(self, name: str) -> bytes | None:
        if not _NAME.match(name):
            return None
        path = self._path(name)
        return await asyncio.to_thread(lambda: path.read_bytes() if path.is_file() else None)


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)  # atomic: a reader never sees half a photo
