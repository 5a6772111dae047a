"""docs/metrics.md implemented a second time, independently: plain Python over the raw event dicts, then pandas.

Nothing here imports analytics' fold or SQL. Where the production code folds events one at a time
into stored rows, this looks at each case's whole history at once, so a mistake in either shows up
as a difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

RESETS = ("dispatched", "reopened")
SATISFIED = ("satisfied", "basic")


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _name(event: Mapping[str, Any]) -> str:
    return str(event["type"]).split(".")[2]


def _deadline(events: Iterable[Mapping[str, Any]], kind: str) -> datetime | None:
    due = None
    for e in events:
        for d in e["data"].get("deadlines") or []:
            if d["kind"] == kind:
                due = _t(d["due_at"])
    return due


def _sends_back(e: Mapping[str, Any]) -> bool:
    name = _name(e)
    return name in RESETS or (name == "verified" and not e["data"]["passed"])


def _case(
    events: list[dict[str, Any]], as_of: datetime, tz: ZoneInfo, filing_limit: timedelta, closing_limit: timedelta
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    by = defaultdict(list)
    for i, e in enumerate(events):
        by[_name(e)].append(i)
    data = [e["data"] for e in events]
    at = [datetime.fromisoformat(d["at"]) for d in data]
    filed = data[by["filed"][0]] if by["filed"] else {}
    grid = filed.get("grid", {})
    dispatch_idx = by["dispatched"]
    department = data[dispatch_idx[-1]].get("department_code") if dispatch_idx else filed.get("department_code")
    live = not by["withdrawn"] and not by["sent_back"]
    state = data[-1]["state"]

    handled_idx = by["handled"][-1] if by["handled"] else None
    if handled_idx is not None and any(_sends_back(e) for e in events[handled_idx + 1 :]):
        handled_idx = None
    handled_at = at[handled_idx] if handled_idx is not None else None
    handle_due = _deadline(events, "handle")
    verify_due = _deadline(events[handled_idx:], "verify") if handled_idx is not None else None

    closes = by["closed"]
    closed = state == "closed"
    first_closed = at[closes[0]] if closes else None
    filed_at = _t(filed.get("at"))
    received_at = _t(filed.get("received_at"))

    suspended = 0.0
    since = None
    for i, e in enumerate(events):
        name = _name(e)
        if name == "suspended" and since is None:
            since = at[i]
        elif name in ("resumed", "closed", "withdrawn") and since is not None:
            suspended += (at[i] - since).total_seconds()
            since = None

    contact_on_time = None
    if by["first_contact"]:
        i = by["first_contact"][0]
        due_then = _deadline(events[: i + 1], "first_contact")
        contact_on_time = at[i] <= due_then if due_then else data[i]["on_time"]
    contact_due = _deadline(events, "first_contact")
    satisfaction = data[by["callback_recorded"][-1]]["satisfaction"] if by["callback_recorded"] else None
    reopens = len(by["reopened"])
    failed = sum(1 for i in by["verified"] if not data[i]["passed"])

    levels = [filed.get("level", "district")]
    from_community = False
    for e, d in zip(events, data, strict=True):
        if _name(e) in ("reported_up", "delegated"):
            levels.append(d["to_level"])
            from_community = from_community or (_name(e) == "reported_up" and d["from_level"] == "community")
    ever_community = "community" in levels
    ever_below = any(lv != "district" for lv in levels)

    case = {
        "case_id": data[0]["case_id"],
        "community_closure_num": live
        and ever_community
        and closed
        and levels[-1] == "community"
        and not from_community,
        "community_closure_den": live and ever_community,
        "report_up_num": live and ever_below and bool(by["reported_up"]),
        "report_up_den": live and ever_below,
        "delegation_num": live and bool(by["delegated"]),
        "live": live,
        "state": state,
        "department": department,
        "street": grid.get("street_code"),
        "community": grid.get("community_code"),
        "cell": grid.get("cell_code"),
        "category": (filed.get("category") or {}).get("code"),
        "channel": filed.get("channel"),
        "filed_at": filed_at,
        "merged": len(by["report_attached"]),
        "escalations": len(by["escalated"]),
        "reopened": reopens > 0,
        "extended": bool(by["extension_granted"]),
        "closed": live and closed,
        "open": live and not closed,
        "overdue": live
        and state not in ("closed", "suspended")
        and handled_at is None
        and handle_due is not None
        and handle_due < as_of,
        "handling_num": live and handled_at is not None and (handle_due is None or handled_at <= handle_due),
        "handling_den": live
        and (
            handled_at is not None
            or (handle_due is not None and handle_due < as_of and state not in ("closed", "suspended"))
        ),
        "satisfaction_num": live and satisfaction in SATISFIED,
        "satisfaction_den": live and satisfaction is not None,
        "rework_num": live and bool(by["handled"]) and failed + reopens > 0,
        "rework_den": live and bool(by["handled"]),
        "same_day_num": live
        and reopens == 0
        and first_closed is not None
        and filed_at is not None
        and first_closed.astimezone(tz).date() == filed_at.astimezone(tz).date(),
        "handling_hours": ((at[closes[-1]] - filed_at).total_seconds() - suspended) / 3600
        if live and closed and filed_at
        else None,
        "contact_num": live and bool(contact_on_time),
        "contact_den": live and (bool(by["first_contact"]) or (contact_due is not None and contact_due < as_of)),
        "filing_num": live
        and received_at is not None
        and filed_at is not None
        and filed_at - received_at <= filing_limit,
        "filing_den": live and received_at is not None,
        "closing_num": live
        and closed
        and handled_at is not None
        and at[closes[-1]] <= (verify_due or handled_at + closing_limit),
    }
    return case, _dispatches(events, at, as_of, live), _summonses(events, at, as_of, live)


def _dispatches(events: list[dict[str, Any]], at: list[datetime], as_of: datetime, live: bool) -> list[dict[str, Any]]:
    if not live:
        return []
    starts = [i for i, e in enumerate(events) if _name(e) == "dispatched"]
    rows = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(events)
        answers = [i for i in range(start, stop) if _name(events[i]) in ("acknowledged", "returned")]
        response = answers[0] if answers else None
        due = _deadline(events[: (response if response is not None else stop - 1) + 1], "acknowledge")
        responded = at[response] if response is not None else None
        department = events[start]["data"].get("department_code")
        rating = _rating(events, start, department, [s for s in starts if s > start and _dept(events[s]) == department])
        rows.append(
            {
                "case_id": events[start]["data"]["case_id"],
                "department": department,
                "rating_num": rating in SATISFIED,
                "rating_den": rating is not None,
                "response_num": responded is not None and (due is None or responded <= due),
                "response_den": responded is not None or (due is not None and due < as_of),
                "accurate_num": not any(_name(events[i]) == "returned" for i in range(start, stop)),
            }
        )
    return rows


def _dept(e: Mapping[str, Any]) -> str | None:
    value: str | None = e["data"].get("department_code")
    return value


def _rating(events: list[dict[str, Any]], start: int, department: str | None, later: list[int]) -> str | None:
    """The latest rating of `department` made while this row was its latest one (before its next row)."""
    stop = later[0] if later else len(events)
    found = None
    for e in events[start:stop]:
        if _name(e) == "department_rated" and e["data"]["rated_department"] == department:
            found = e["data"]["rating"]
    return found


def _summonses(events: list[dict[str, Any]], at: list[datetime], as_of: datetime, live: bool) -> list[dict[str, Any]]:
    if not live:
        return []
    open_summons: list[dict[str, Any]] = []
    for i, e in enumerate(events):
        name, d = _name(e), e["data"]
        if name == "whistle_blown":
            seen = set()
            for department in d["departments"]:
                if department not in seen:
                    seen.add(department)
                    open_summons.append(
                        {
                            "case_id": d["case_id"],
                            "department": department,
                            "due": _t(d["checkin_due_at"]),
                            "checked": None,
                            "rating": None,
                        }
                    )
        elif name == "department_rated":
            rated = d["rated_department"]
            dispatched = any(_name(x) == "dispatched" and _dept(x) == rated for x in events[:i])
            mine = [s for s in open_summons if s["department"] == rated]
            if not dispatched and mine:
                mine[-1]["rating"] = d["rating"]
        elif name == "department_checked_in":
            waiting = [s for s in open_summons if s["department"] == d["checked_in_department"] and not s["checked"]]
            if waiting:
                waiting[-1]["checked"] = at[i]
    return [
        {
            "case_id": s["case_id"],
            "department": s["department"],
            "checkin_num": s["checked"] is not None and s["checked"] <= s["due"],
            "checkin_den": s["checked"] is not None or s["due"] < as_of,
            "rating_num": s["rating"] in SATISFIED,
            "rating_den": s["rating"] is not None,
        }
        for s in open_summons
    ]


class Oracle:
    """Per-case, per-dispatch and per-summons frames from the raw events; scores by any dimension."""

    def __init__(
        self,
        envelopes: Iterable[dict[str, Any]],
        *,
        as_of: datetime,
        timezone: str,
        filing_limit_minutes: int,
        closing_limit_hours: float,
        composite: Mapping[str, tuple[float, bool]],
    ):
        self.tz = ZoneInfo(timezone)
        self.composite = composite
        per_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for envelope in envelopes:
            per_case[envelope["subject"]].append(envelope)
        cases, dispatches, summonses = [], [], []
        for events in per_case.values():
            case, ds, ss = _case(
                events, as_of, self.tz, timedelta(minutes=filing_limit_minutes), timedelta(hours=closing_limit_hours)
            )
            cases.append(case)
            dispatches += ds
            summonses += ss
        self.cases = pd.DataFrame(cases)
        local = pd.to_datetime(self.cases["filed_at"], utc=True).dt.tz_convert(self.tz)
        self.cases["day"] = local.dt.strftime("%Y-%m-%d")
        monday = local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")
        self.cases["week"] = monday.dt.strftime("%Y-%m-%d")
        self.cases["month"] = local.dt.strftime("%Y-%m")
        self.cases["total"] = "all"
        self.dispatches = pd.DataFrame(dispatches)
        self.summonses = pd.DataFrame(summonses)

    def scores(
        self, dimension: str, start: datetime, end: datetime, filters: Mapping[str, str] | None = None
    ) -> dict[str | None, dict[str, Any]]:
        """{group key: {score: (numerator, denominator) for rates, value for counts, means and medians}}."""
        filters = dict(filters or {})
        department = filters.pop("department", None)
        filed = pd.to_datetime(self.cases["filed_at"], utc=True)
        cohort = self.cases[(filed >= pd.Timestamp(start)) & (filed < pd.Timestamp(end))]
        for name, value in filters.items():
            cohort = cohort[cohort[name] == value]
        dims = cohort.drop(columns=["department"]).set_index("case_id")
        d = self.dispatches.join(dims, on="case_id", how="inner")
        s = self.summonses.join(dims.drop(columns=["live"]), on="case_id", how="inner", rsuffix="_case")
        c = cohort
        if department is not None:
            c, d, s = (frame[frame["department"] == department] for frame in (c, d, s))
        out: dict[str | None, dict[str, Any]] = defaultdict(dict)

        def key(v: Any) -> str | None:
            return None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)

        for k, g in c.groupby(c[dimension].map(key), dropna=False):
            live = g[g["live"]]
            hours = live["handling_hours"].dropna().astype(float)
            out[key(k)].update(
                {
                    "cases": len(g),
                    "withdrawn": int((~g["live"]).sum()),
                    "closed": int(g["closed"].sum()),
                    "open": int(g["open"].sum()),
                    "overdue": int(g["overdue"].sum()),
                    "merged_reports": int(g["merged"].sum()),
                    "reopened": int(g["reopened"].sum()),
                    "extended": int(g["extended"].sum()),
                    "escalations": int(g["escalations"].sum()),
                    "on_time_handling_rate": (int(g["handling_num"].sum()), int(g["handling_den"].sum())),
                    "closure_rate": (int(g["closed"].sum()), int(g["live"].sum())),
                    "satisfaction_rate": (int(g["satisfaction_num"].sum()), int(g["satisfaction_den"].sum())),
                    "rework_rate": (int(g["rework_num"].sum()), int(g["rework_den"].sum())),
                    "same_day_closure_rate": (int(g["same_day_num"].sum()), int(g["live"].sum())),
                    "mean_handling_hours": float(hours.mean()) if len(hours) else None,
                    "median_handling_hours": float(hours.median()) if len(hours) else None,
                    "first_contact_rate": (int(g["contact_num"].sum()), int(g["contact_den"].sum())),
                    "on_time_filing_rate": (int(g["filing_num"].sum()), int(g["filing_den"].sum())),
                    "on_time_closing_rate": (int(g["closing_num"].sum()), int(g["closed"].sum())),
                    "community_closure_rate": (
                        int(g["community_closure_num"].sum()),
                        int(g["community_closure_den"].sum()),
                    ),
                    "report_up_rate": (int(g["report_up_num"].sum()), int(g["report_up_den"].sum())),
                    "delegation_rate": (int(g["delegation_num"].sum()), int(g["live"].sum())),
                }
            )
        for frame, fields in (
            (
                d,
                {
                    "response_rate": ("response_num", "response_den"),
                    "accurate_dispatch_rate": ("accurate_num", None),
                    "street_rating_rate": ("rating_num", "rating_den"),
                },
            ),
            (
                s,
                {
                    "whistle_checkin_rate": ("checkin_num", "checkin_den"),
                    "whistle_rating_rate": ("rating_num", "rating_den"),
                },
            ),
        ):
            if frame.empty:
                continue
            for k, g in frame.groupby(frame[dimension].map(key), dropna=False):
                for score, (num, den) in fields.items():
                    out[key(k)][score] = (int(g[num].sum()), int(g[den].sum()) if den else len(g))
                if frame is s:
                    out[key(k)]["whistle_closure_rate"] = (int((g["state"] == "closed").sum()), len(g))
                    out[key(k)]["whistle_satisfaction_rate"] = (
                        int(g["satisfaction_num"].sum()),
                        int(g["satisfaction_den"].sum()),
                    )
        for row in out.values():
            row["composite_score"] = self._composite(row)
        return dict(out)

    def _composite(self, row: Mapping[str, Any]) -> float | None:
        total = weights = 0.0
        for name, (weight, invert) in self.composite.items():
            num, den = row.get(name, (0, 0))
            if den:
                rate = num / den
                total += weight * ((1 - rate) if invert else rate)
                weights += weight
        return 100 * total / weights if weights else None
