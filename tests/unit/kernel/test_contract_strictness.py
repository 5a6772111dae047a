"""Producers cannot ship a misspelt field; consumers still read bodies from newer writers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contracts import make_envelope, parse_body
from shared.contracts.cases import CaseDispatched
from shared.contracts.common import Actor

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FIELDS = {
    "case_id": "c-1",
    "case_no": "DC1",
    "state": "dispatched",
    "version": 2,
    "at": AT,
    "actor": Actor(id="router", role="system"),
    "department_code": "CGZF",
}


def test_a_misspelt_field_is_refused_where_the_event_is_written() -> None:
    misspelt = CaseDispatched(**FIELDS, deadline=[])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="CaseDispatched has no field deadline"):
        make_envelope(misspelt, source="test", subject="c-1")


def test_a_field_from_a_newer_writer_is_kept_by_a_reader() -> None:
    envelope = make_envelope(CaseDispatched(**FIELDS), source="test", subject="c-1")
    newer = envelope.model_copy(update={"data": {**envelope.data, "added_in_v1_1": "x"}})
    body = parse_body(newer)
    assert isinstance(body, CaseDispatched)
    assert body.department_code == "CGZF"
    assert (body.model_extra or {}).get("added_in_v1_1") == "x"


def test_an_envelope_carries_the_service_clock_not_the_wall_clock() -> None:
    """Case events and their envelopes share one time base (the demo city's clock runs ahead of the wall)."""
    from sqlalchemy import MetaData

    from shared.clock import ManualClock
    from shared.db.outbox import Outbox, outbox_table

    city_time = datetime(2031, 5, 6, 1, 2, tzinfo=UTC)
    outbox = Outbox(outbox_table(MetaData()), "/test", ManualClock(city_time))
    assert outbox.envelope(CaseDispatched(**FIELDS), "c-1").time == city_time
