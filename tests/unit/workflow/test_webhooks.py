"""Webhook logic without servers: backoff bounds, the SSRF address rule, subscription filters, signatures."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from workflow.webhooks.config import WebhookSettings
from workflow.webhooks.delivery import backoff
from workflow.webhooks.events import Facts, case_departments, matches
from workflow.webhooks.guard import Refused, allowed, check_url_shape
from workflow.webhooks.signing import headers, new_secret


@given(attempt=st.integers(1, 200), seed=st.integers(0, 2**32), base=st.floats(0.1, 60), cap=st.floats(1, 7200))
def test_backoff_is_jittered_between_half_and_all_of_the_capped_exponential(
    attempt: int, seed: int, base: float, cap: float
) -> None:
    settings = WebhookSettings(backoff_base_s=base, backoff_cap_s=cap)
    ceiling = min(cap, base * 2 ** (attempt - 1))
    wait = backoff(attempt, settings, random.Random(seed)).total_seconds()
    assert ceiling / 2 - 1e-6 <= wait <= ceiling + 1e-6


def test_backoff_doubles_until_the_cap() -> None:
    settings = WebhookSettings(backoff_base_s=5, backoff_cap_s=3600)
    always_top = SimpleNamespace(random=lambda: 0.999999)
    waits = [round(backoff(n, settings, always_top).total_seconds()) for n in range(1, 13)]  # type: ignore[arg-type]
    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_loopback_private_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    assert not allowed(ip_address(address), [])


@pytest.mark.parametrize("address", ["8.8.8.8", "203.119.0.1", "2400:3200::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert allowed(ip_address(address), [])


def test_a_configured_network_is_allowed_and_nothing_beyond_it() -> None:
    allow = [ip_network("127.0.0.1/32"), ip_network("10.20.0.0/16")]
    assert allowed(ip_address("127.0.0.1"), allow) and allowed(ip_address("10.20.5.5"), allow)
    assert not allowed(ip_address("127.0.0.2"), allow) and not allowed(ip_address("10.21.0.1"), allow)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///x", "http://u:p@example.com/x", "example.com"])
def test_urls_that_are_not_plain_http_are_refused(url: str) -> None:
    with pytest.raises(Refused):
        check_url_shape(url)


def _sub(**f: str | None) -> SimpleNamespace:
    return SimpleNamespace(
        department_code=f.get("department_code"), street_code=f.get("street_code"), channel=f.get("channel")
    )


def test_filters_must_all_match_and_unset_ones_let_everything_through() -> None:
    facts = Facts(case_departments({"department_code": None, "from_department": "WATER"}), "S01", "hotline")
    assert matches(_sub(), facts)
    assert matches(_sub(department_code="WATER", street_code="S01", channel="hotline"), facts)
    assert not matches(_sub(department_code="ROADS"), facts)
    assert not matches(_sub(department_code="WATER", street_code="S02"), facts)
    assert not matches(_sub(channel="wechat"), facts)


def test_signatures_of_both_secrets_verify_with_the_reference_library() -> None:
    old, new = new_secret(), new_secret()
    body = '{"specversion":"1.0","id":"e-1","type":"cityloop.case.filed.v1","data":{"note":"路面有坑"}}'.encode()
    h = headers("e-1", body, [new, old], datetime.now(UTC))
    assert len(h["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, h)["data"]["note"] == "路面有坑"
