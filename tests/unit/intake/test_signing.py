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
    return verify("s3cret", headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now=now, window_s=300)


def test_signed_request_passes_within_the_window_with_or_without_prefix() -> None:
    headers = signed_headers("s3cret", b'{"a":1}', NOW)
    assert check(headers, b'{"a":1}', NOW + timedelta(seconds=299)) == headers[SIGNATURE_HEADER]
    prefixed = {**headers, SIGNATURE_HEADER: "sha256=" + headers[SIGNATURE_HEADER].upper()}
    assert check(prefixed, b'{"a":1}') == headers[SIGNATURE_HEADER]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({TIMESTAMP_HEADER: ""}, TIMESTAMP_HEADER),
        ({SIGNATURE_HEADER: ""}, SIGNATURE_HEADER),
        ({TIMESTAMP_HEADER: "yesterday"}, TIMESTAMP_HEADER),
        ({TIMESTAMP_HEADER: str(int(NOW.timestamp()) - 301)}, TIMESTAMP_HEADER),
        ({SIGNATURE_HEADER: "0" * 64}, SIGNATURE_HEADER),
    ],
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


# The README's walkthrough ticket signed by `openssl dgst -sha256 -hmac dev-only-hotline-secret` over
# `<timestamp>.<body>`, computed once outside this code base and pinned: if the signed string's layout ever
# changes (order, separator, encoding), real hotline systems following the README stop being accepted.
README_BODY = (
    '{"ticket_no":"DEMO-0002","call_time":"2026-11-23T10:00:00+08:00","caller":{"name":"王女士",'
    '"phone":"13800138000"},"content":"草河北路12号门口有人占道经营摆摊卖水果，影响行人通行","address":"草河北路12号",'
    '"hotline_class":"general"}'
).encode()
README_TIMESTAMP = "1763863200"
OPENSSL_SIGNATURE = "343c22b8a15eba692bd333fd47a522f9a8911607204480eb2d8fb02f645a170e"


def test_signature_matches_the_readme_openssl_vector() -> None:
    now = datetime.fromtimestamp(int(README_TIMESTAMP), UTC)
    accepted = verify(
        "dev-only-hotline-secret", README_TIMESTAMP, OPENSSL_SIGNATURE, README_BODY, now=now, window_s=300
    )
    assert accepted == OPENSSL_SIGNATURE
    assert signed_headers("dev-only-hotline-secret", README_BODY, now)[SIGNATURE_HEADER] == OPENSSL_SIGNATURE
