"""Time windows, scoping to the caller's unit, rankings and CSV of the KPI API."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from analytics.scores import SCORES, Row, Value
from analytics.service import rank, scoped_filters, to_csv, window
from shared.auth import Principal, Role
from shared.errors import Forbidden, Invalid

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 5, 10, 3, 0, tzinfo=UTC)


def row(key: str, rate: float | None) -> Row:
    values = {s.name: Value(None, 0, 0) for s in SCORES}
    values["closure_rate"] = Value(rate, None if rate is None else round(rate * 10), None if rate is None else 10)
    values["rework_rate"] = Value(rate, 1, 10)
    return Row(None, key, values)


def test_a_date_means_local_midnight_and_to_is_exclusive() -> None:
    w = window("2025-05-01", "2025-06-01", None, now=NOW, tz=TZ)
    assert w.start == datetime(2025, 4, 30, 16, tzinfo=UTC) and w.end == datetime(2025, 5, 31, 16, tzinfo=UTC)
    assert w.as_of == NOW


@pytest.mark.parametrize(
    ("raw", "field"),
    [(("05/01/2025", None), "from"), (("2025-06-01", "2025-05-01"), "from"), ((None, "tomorrow"), "to")],
)
def test_a_bad_window_is_refused_naming_the_field(raw: tuple[str | None, str | None], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        window(raw[0], raw[1], None, now=NOW, tz=TZ)
    assert caught.value.field == field


def test_a_department_account_sees_only_its_department() -> None:
    staff = Principal("u", Role.DEPARTMENT, unit="D03")
    assert scoped_filters(staff, {"street": "S1", "department": None}) == {"street": "S1", "department": "D03"}
    with pytest.raises(Forbidden) as caught:
        scoped_filters(staff, {"department": "D04"})
    assert caught.value.field == "department"
    assert scoped_filters(Principal("s", Role.SUPERVISOR), {"department": "D04"}) == {"department": "D04"}


def test_ranking_follows_the_scores_direction_shares_ties_and_leaves_out_groups_without_a_value() -> None:
    rows = [row("A", 0.5), row("B", 0.9), row("C", 0.5), row("D", None)]
    ranked, unranked = rank(rows, "closure_rate")
    assert [(r.rank, r.row.key) for r in ranked] == [(1, "B"), (2, "A"), (2, "C")] and unranked == ["D"]
    ranked, _ = rank(rows, "rework_rate")
    assert ranked[0].row.key == "A" and ranked[0].rank == 1


def test_csv_has_value_numerator_and_denominator_of_each_rate() -> None:
    text = to_csv([row("D01", 0.5)], key_header="department", names=["closure_rate"])
    assert text.splitlines() == [
        "department,closure_rate,closure_rate_numerator,closure_rate_denominator",
        "D01,0.5,5,10",
    ]
