"""Photos are judged by their bytes and stored once per content."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.photos import LocalPhotoStore, check_photo, sniff_image
from shared.errors import TooLarge, UnsupportedMedia
from tests.integration.intake.helpers import jpeg, png


def test_jpeg_and_png_are_recognised_by_magic_bytes_only() -> None:
    assert sniff_image(jpeg()) == ("image/jpeg", "jpg")
    assert sniff_image(png()) == ("image/png", "png")
    assert sniff_image(b"GIF89a....") is None
    assert sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_wrong_type_is_415_and_too_large_is_413() -> None:
    with pytest.raises(UnsupportedMedia):
        check_photo(b"%PDF-1.7 " * 4, field="photos[0]", max_bytes=1000)
    with pytest.raises(TooLarge) as too_large:
        check_photo(jpeg(b"\x00" * 100), field="photos[1]", max_bytes=50)
    assert too_large.value.field == "photos[1]"
    with pytest.raises(UnsupportedMedia):
        check_photo(b"\xff\xd8\xff", field="photos[0]", max_bytes=1000)  # only the magic: truncated


async def test_store_is_content_addressed_and_refuses_odd_names(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    first = await store.put(png(), "image/png", "png")
    again = await store.put(png(), "image/png", "png")
    assert first == again and first.uri.endswith(f"{first.sha256}.png")
    assert len(list(tmp_path.rglob("*.png"))) == 1
    assert await store.get(first.uri.rsplit("/", 1)[1]) == png()
    assert await store.get("../../etc/passwd") is None
    assert await store.get("0" * 64 + ".jpg") is None


def test_a_decompression_bomb_is_413_without_being_expanded() -> None:
    import io
    import time

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (20000, 20000)).save(out, format="PNG")  # 400 million pixels in a few hundred kilobytes
    started = time.process_time()
    with pytest.raises(TooLarge) as refused:
        check_photo(out.getvalue(), field="photos[0]", max_bytes=10_000_000)
    assert refused.value.field == "photos[0]" and time.process_time() - started < 0.5
    small = io.BytesIO()
    Image.new("L", (400, 300)).save(small, format="PNG")
    with pytest.raises(TooLarge):
        check_photo(small.getvalue(), field="photos[0]", max_bytes=10_000_000, max_pixels=100_000)
    assert check_photo(small.getvalue(), field="photos[0]", max_bytes=10_000_000) == ("image/png", "png")


def test_a_signature_followed_by_zeros_is_not_a_photo() -> None:
    with pytest.raises(UnsupportedMedia):
        check_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, field="photos[0]", max_bytes=10_000_000)
    with pytest.raises(UnsupportedMedia):
        check_photo(b"\xff\xd8\xff\xe0" + b"\0" * 5000, field="photos[0]", max_bytes=10_000_000)
