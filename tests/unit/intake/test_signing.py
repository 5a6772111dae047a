"""The hotline webhook signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers, verify
from shared.errors import Unauthorized

NOW = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)


def check(headers: dict[str, str], body: bytes, now: datetime = NOW) -> str:
    return verify("s3cret", headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now=now,
                  window_s=300)


def test_signed_request_passes_within_the_window_with_or_without_prefix() -> None:
    headers = signed_headers("s3cret", b'{"a":1}', NOW)
    assert check(headers, b'{"a":1}', NOW + timedelta(seconds=299)) == headers[SIGNATURE_HEADER]
    prefixed = {**headers, SIGNATURE_HEADER: "sha256=" + headers[SIGNATURE_HEADER].upper()}
    assert check(prefixed, b'{"a":1}') == headers[SIGNATURE_HEADER]


@pytest.mark.parametrize(
    ("change", "field"),
    [({TIMESTAMP_HEADER: ""}, TIMESTAMP_HEADER), ({SIGNATURE_HEADER: ""}, SIGNATURE_HEADER),
     ({TIMESTAMP_HEADER: "yesterday"}, TIMESTAMP_HEADER), ({TIMESTAMP_HEADER: str(int(NOW.timestamp()) - 301)},
                                                           TIMESTAMP_HEADER),
     ({SIGNATURE_HEADER: "0" * 64}, SIGNATURE_HEADER)],
)
def test_refusals_name_the_header(change: dict[str, str], field: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        check({**signed_headers("s3cret", b"{}", NOW), **change}, b"{}")
    assert refused.value.field == field


@given(body=st.binary(max_size=64), other=st.binary(max_size=64))
def test_any_change_to_the_body_breaks_the_signature(body: bytes, other: bytes) -> None:
    headers = signed_headers("s3cret", body, NOW)
    if other == body:
        assert check(headers, other)
    else:
        with pytest.raises(Unauthorized):
            check(headers, other)
