"""The fold of case events into read-model rows (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.projection import CaseRecord, apply
from shared.contracts import cases as c
from shared.contracts.common import CategoryRef, Channel, GridRef

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
BASE: dict[str, Any] = {"case_id": "c1", "case_no": "DC1"}


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def filed() -> c.CaseFiled:
    return c.CaseFiled(
        **BASE,
        state="filed",
        version=1,
        at=T0,
        report_id="r1",
        channel=Channel.HOTLINE,
        category=CategoryRef(scheme="taxonomy", code="0101"),
        category_kind="component",
        grid=GridRef(street_code="S1", cell_code="S1C1G1"),
        priority="normal",
        deadline_profile="1515-general",
        received_at=T0 - timedelta(minutes=5),
        deadlines=[c.DeadlineSet(kind="first_contact", due_at=at(24))],
    )


def dispatched(hours: float, department: str, version: int) -> c.CaseDispatched:
    return c.CaseDispatched(
        **BASE,
        state="dispatched",
        version=version,
        at=at(hours),
        department_code=department,
        deadlines=[
            c.DeadlineSet(kind="acknowledge", due_at=at(hours + 1)),
            c.DeadlineSet(kind="handle", due_at=at(hours + 48)),
        ],
    )


def fold(*events: c.CaseEvent) -> CaseRecord:
    record = CaseRecord.new(events[0])
    for i, event in enumerate(events):
        apply(record, event, f"e{i}")
    return record


def test_a_return_is_the_response_of_the_wrong_department_and_the_case_follows_the_redispatch() -> None:
    record = fold(
        filed(),
        dispatched(1, "D1", 2),
        c.CaseReturned(**BASE, state="returned", version=3, at=at(1.5), reason="not ours"),
        dispatched(2, "D2", 4),
        c.CaseAcknowledged(**BASE, state="acknowledged", version=5, at=at(4)),
    )
    first, second = record.dispatches
    assert (first.department_code, first.responded_at, first.returned_at) == ("D1", at(1.5), at(1.5))
    assert (second.department_code, second.acknowledge_due_at, second.responded_at) == ("D2", at(3), at(4))
    assert record.fact.department_code == "D2" and record.fact.return_count == 1


def test_failed_verification_and_reopening_clear_the_handling_in_force() -> None:
    record = fold(
        filed(),
        dispatched(1, "D1", 2),
        c.CaseHandled(**BASE, state="handled", version=3, at=at(5), result="ok"),
        c.CaseVerified(**BASE, state="acknowledged", version=4, at=at(6), passed=False),
    )
    assert record.fact.handled_at is None and record.fact.first_handled_at == at(5)
    apply(record, c.CaseHandled(**BASE, state="handled", version=5, at=at(8), result="ok"), "e5")
    apply(record, c.CaseClosed(**BASE, state="closed", version=6, at=at(9)), "e6")
    apply(record, c.CaseReopened(**BASE, state="filed", version=7, at=at(30), reason="back"), "e7")
    fact = record.fact
    assert (fact.handled_at, fact.closed_at, fact.first_closed_at) == (None, None, at(9))
    assert (fact.failed_verification_count, fact.reopen_count, fact.state) == (1, 1, "filed")


def test_suspended_time_counts_until_resumed_and_the_resumed_deadline_is_in_force() -> None:
    record = fold(
        filed(),
        dispatched(1, "D1", 2),
        c.CaseSuspended(**BASE, state="suspended", version=3, at=at(2), reason="owner away"),
        c.CaseResumed(
            **BASE, state="acknowledged", version=4, at=at(26), deadlines=[c.DeadlineSet(kind="handle", due_at=at(73))]
        ),
    )
    assert record.fact.suspended_seconds == 24 * 3600 and record.fact.handle_due_at == at(73)


def test_first_contact_is_judged_against_the_deadline_then_in_force() -> None:
    late = fold(filed(), c.FirstContactMade(**BASE, state="filed", version=2, at=at(25), on_time=True))
    assert late.fact.first_contact_on_time is False


def test_a_merged_callers_first_contact_is_not_the_cases() -> None:
    merged = c.FirstContactMade(**BASE, state="filed", version=2, at=at(1), on_time=True, report_id="r2")
    own = c.FirstContactMade(**BASE, state="filed", version=3, at=at(30), on_time=False)
    assert fold(filed(), merged).fact.first_contact_at is None
    record = fold(filed(), merged, own)
    assert record.fact.first_contact_at == at(30) and record.fact.first_contact_on_time is False


def test_a_check_in_answers_the_departments_latest_open_summons() -> None:
    record = fold(
        filed(),
        c.WhistleBlown(
            **BASE,
            state="filed",
            version=2,
            at=at(1),
            street_code="S1",
            departments=["D1", "D2", "D1"],
            checkin_due_at=at(3),
        ),
        c.DepartmentCheckedIn(
            **BASE, state="filed", version=3, at=at(2), checked_in_department="D2", on_time=True, whistle_at=at(1)
        ),
    )
    assert [(ci.department_code, ci.checked_in_at) for ci in record.checkins] == [("D1", None), ("D2", at(2))]


def test_handling_starts_the_verification_clock_and_a_failed_verification_the_rework_clock() -> None:
    verify = c.DeadlineSet(kind="verify", due_at=at(9))
    record = fold(
        filed(),
        dispatched(1, "D1", 2),
        c.CaseHandled(**BASE, state="handled", version=3, at=at(5), result="ok", deadlines=[verify]),
    )
    assert record.fact.verify_due_at == at(9)
    rework = c.DeadlineSet(kind="handle", due_at=at(40))
    apply(
        record, c.CaseVerified(**BASE, state="dispatched", version=4, at=at(6), passed=False, deadlines=[rework]), "e4"
    )
    assert (record.fact.verify_due_at, record.fact.handle_due_at) == (None, at(40))


def test_dispatches_and_summonses_carry_the_cases_filing_time_for_the_period_filter() -> None:
    record = fold(
        filed(),
        dispatched(1, "D1", 2),
        c.WhistleBlown(
            **BASE, state="dispatched", version=3, at=at(2), street_code="S1", departments=["D2"], checkin_due_at=at(4)
        ),
    )
    assert [d.filed_at for d in record.dispatches] == [T0]
    assert [ci.filed_at for ci in record.checkins] == [T0]


def moved(kind: type[c.LevelMove], hours: float, version: int, a: str, b: str) -> c.CaseEvent:
    return kind(**BASE, state="filed", version=version, at=at(hours), from_level=a, to_level=b, reason="x")  # type: ignore[arg-type]


def test_level_moves_record_where_the_case_went_and_whether_the_community_passed_it_up() -> None:
    community = filed().model_copy(update={"level": "community", "level_unit": "S1C1"})
    up = fold(community, moved(c.CaseReportedUp, 1, 2, "community", "street")).fact
    assert (up.level, up.ever_community, up.ever_below_district) == ("street", True, True)
    assert (up.reported_up_count, up.reported_up_from_community, up.delegated_count) == (1, True, 0)

    down = fold(
        filed(), moved(c.CaseDelegated, 1, 2, "district", "street"), moved(c.CaseDelegated, 2, 3, "street", "community")
    ).fact
    assert (down.level, down.ever_community, down.delegated_count, down.reported_up_from_community) == (
        "community",
        True,
        2,
        False,
    )
    assert fold(filed()).fact.ever_below_district is False


def test_a_ticket_sent_back_leaves_the_scores_like_a_withdrawal() -> None:
    back = c.CaseSentBack(**BASE, state="withdrawn", version=2, at=at(1), reason="not ours", ticket_nos=["T1"])
    assert fold(filed(), back).fact.withdrawn_at == at(1)


def test_a_street_rating_lands_on_the_departments_latest_dispatch_else_its_summons() -> None:
    whistle = c.WhistleBlown(
        **BASE, state="dispatched", version=3, at=at(2), street_code="S1", departments=["ROADS"], checkin_due_at=at(4)
    )

    def rated(version: int, department: str, rating: str) -> c.DepartmentRated:
        return c.DepartmentRated(
            **BASE,
            state="handled",
            version=version,
            at=at(9),
            street_code="S1",
            rated_department=department,
            rating=rating,  # type: ignore[arg-type]
        )

    record = fold(
        filed(),
        dispatched(1, "WATER", 2),
        whistle,
        dispatched(3, "PARKS", 4),
        rated(5, "WATER", "basic"),
        rated(6, "ROADS", "unsatisfied"),
        rated(7, "WATER", "satisfied"),
    )
    assert [(d.department_code, d.street_rating) for d in record.dispatches] == [
        ("WATER", "satisfied"),
        ("PARKS", None),
    ]
    assert [(ci.department_code, ci.street_rating) for ci in record.checkins] == [("ROADS", "unsatisfied")]
