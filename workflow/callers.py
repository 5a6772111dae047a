"""What each merged 12345 caller is owed (并案 never drops a caller's 1515 obligations).

A merged hotline ticket keeps its own class and clocks inside the case it joins:
- first contact (先行联系) on its own deadline `first_contact:<report_id>`, counted from its own receipt in
  working time, with the same timers (warn, due, supervision) as every other clock;
- a result due by its own class (a complex ticket keeps its 15 working days, a general one its 5). The case
  is one piece of work with one handling clock, so that clock becomes the stricter of what its callers are
  owed: a general ticket merged into a complex case pulls the case's handle deadline in; a complex ticket
  merged into a general case leaves it, and keeps its own 15-day due on its ticket for the hotline.
Only hotline callers are owed these (the 1515 rule is the hotline's); other merged reports just record
their profile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.contracts.routing import ReportMerged
from workflow.config import Profile, Rules
from workflow.deadlines import Clockwork, Due, Span
from workflow.machine import OPEN, State
from workflow.schedule import DeadlineBook, Opening

HOTLINE = "hotline"
FIRST_CONTACT_PREFIX = "first_contact:"


def first_contact_kind(report_id: str) -> str:
    return f"{FIRST_CONTACT_PREFIX}{report_id}"


@dataclass(frozen=True, slots=True)
class Owed:
    """A caller's obligations, due from its own receipt by its own profile."""

    first_contact: Due | None
    result: Due


def owed(clockwork: Clockwork, profile: Profile, received: datetime) -> Owed:
    return Owed(
        clockwork.due(received, profile.first_contact) if profile.first_contact else None,
        clockwork.due(received, profile.handle),
    )


def stricter(span: Span, result_due: datetime) -> Span | None:
    """The case's handling span pulled in to a caller's result due, or None if it is already as strict.
    A suspended span is left alone: rescheduling would wake its timers while the case stands still (the
    caller's own due is still recorded on its ticket)."""
    if span.paused_at is not None or span.due <= result_due:
        return None
    return replace(span, due=max(result_due, span.start))


@dataclass(frozen=True, slots=True)
class Claim:
    """What one merged caller is owed, planned before anything is written (`owed_to`)."""

    values: dict[str, Any]
    """The caller's own columns of its `case_reports` row."""
    first_contact: Opening | None = None
    """Its first-contact clock, if it is owed one."""
    result_due: datetime | None = None
    """Its result due, to which the case's handling clock is pulled in (`stricter`); None if not owed."""


def owed_to(clockwork: Clockwork, rules: Rules, state: State, body: ReportMerged, now: datetime) -> Claim:
    """What a merged report's caller is owed in a case in `state`.

    A finished case opens no clock (nothing could meet it); a suspended one opens it standing still, like
    its other clocks, to run from the resumption (`pause`)."""
    if body.deadline_profile is None:  # a router from before profiles travelled with merges
        return Claim({})
    profile, _ = rules.profile(body.deadline_profile)
    received = min(body.report.received_at, now)
    values: dict[str, Any] = {
        "deadline_profile": body.deadline_profile,
        "hotline_class": body.hotline_class,
        "received_at": received,
    }
    if body.report.channel.value != HOTLINE or state not in OPEN:
        return Claim(values)
    due = owed(clockwork, profile, received)
    values["result_due_at"] = due.result.at
    first = (
        Opening(first_contact_kind(body.report_id), profile.first_contact, received) if profile.first_contact else None
    )
    return Claim(values, first, due.result.at)


async def pause(book: DeadlineBook, case_id: str, kind: str, at: datetime) -> None:
    """Stop one new clock of a suspended case (`DeadlineBook.pause` would restart the others' pause)."""
    rows = await book.repo.active_deadlines(case_id, [kind])
    for row in rows:
        await book.repo.update_deadline(row.id, {"paused_at": at})
    await book.repo.set_timer_status([r.id for r in rows], "paused", from_statuses=("pending",))


async def extend_callers(book: DeadlineBook, rules: Rules, case_id: str, days: int) -> None:
    """An extension granted on the case (延期) moves each merged caller's result due by as much."""
    for row in await book.repo.reports_of([case_id]):
        if row.result_due_at is None or row.received_at is None:
            continue
        basis = rules.profile(row.deadline_profile or "")[0].handle.basis
        span, _ = book.clockwork.extended(Span(basis, row.received_at, row.result_due_at), days)
        await book.repo.update_case_report(row.report_id, {"result_due_at": span.due})
