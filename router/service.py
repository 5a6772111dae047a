"""Router logic around `route()`: persisting decisions, the open-primaries index, the queue, the rule store.

Nothing here commits: handlers and endpoints own their transaction. The rule set in force is swapped in
only after the transaction that stored it has committed (`install`).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from router import repository as repo
from router.config import RouterSettings
from router.merge import InMemoryPrimaries, OpenPrimary, SearchBox, neighbourhood_keys
from router.metrics import DECISIONS, ROUTE_SECONDS, RULESET_VERSION
from router.reference import ReferenceData
from router.routing import Analysis, Decision, analyse, decide, routed_report
from router.rules import RuleSet, parse_rules, rule_summaries
from router.schemas import DispatchIn
from router.yamlines import YamlFileError
from shared.auth import Principal, Role
from shared.contracts.common import Actor, Contract, Crs, GridRef, Location
from shared.contracts.reports import ReportReceived, ReportUpdated
from shared.contracts.routing import ManualDispatchNeeded, RoutingDecided, RuleRef
from shared.errors import Conflict, Invalid, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
Emit = Callable[[Contract], Awaitable[Any]]
MANUAL_RULE_ID = "manual-dispatch"
_BATCH = "router.batch"


@dataclass
class _Batch:
    """What `prepare` learnt about a batch's reports, used by `decide` and `handle_report` instead of a query
    per report. `added` are the primaries this batch has made so far: later reports of the batch may merge
    into them (the database has not seen them yet)."""

    version: int
    decided: set[str]
    analysed: dict[str, Analysis] = field(default_factory=dict)
    candidates: dict[str, list[OpenPrimary]] = field(default_factory=dict)
    added: list[OpenPrimary] = field(default_factory=list)


def problems_error(exc: YamlFileError, field: str) -> Invalid:
    """422 naming file, line and reason of every problem in a rule document."""
    return Invalid(str(exc), field=field, problems=[p.as_dict() for p in exc.problems])


class RouterService:
    def __init__(self, ref: ReferenceData, rules: RuleSet, settings: RouterSettings) -> None:
        self.ref = ref
        self.rules = rules
        self.settings = settings
        RULESET_VERSION.set(rules.version)

    # -- rule store ----------------------------------------------------------------------------------------------

    def parse(self, text: str, source: str, version: int = 0) -> RuleSet:
        return parse_rules(text, source, self.ref.context, version)

    def install(self, rules: RuleSet) -> None:
        """Put a stored, validated rule set in force (after its transaction committed)."""
        if rules.version != self.rules.version:
            log.info("router_rules_installed", version=rules.version, previous=self.rules.version, name=rules.doc.name)
        self.rules = rules
        RULESET_VERSION.set(rules.version)

    @staticmethod
    async def initial_rules(
        session: AsyncSession, ref: ReferenceData, settings: RouterSettings, now: datetime
    ) -> RuleSet:
        """The newest stored rule set that still validates; on an empty store, the rules file as version 1."""
        for row in await repo.rulesets_desc(session):
            try:
                return parse_rules(row["yaml"], f"rule set v{row['version']}", ref.context, row["version"])
            except YamlFileError as exc:
                log.error("router_stored_rules_invalid", version=row["version"], error=str(exc))
        text = settings.rules_path.read_text(encoding="utf-8")
        rules = parse_rules(text, str(settings.rules_path), ref.context, 1)
        if not await repo.seed_ruleset(
            session,
            version=1,
            name=rules.doc.name,
            yaml=text,
            source=f"file:{settings.rules_path.name}",
            created_by="system",
            created_at=now,
            comment="seeded from the rules file at first start",
        ):
            # Another replica starting at the same moment seeded it first (and has committed): use its row.
            return await RouterService.initial_rules(session, ref, settings, now)
        return rules

    async def save_rules(
        self,
        session: AsyncSession,
        text: str,
        *,
        source: str,
        who: str,
        now: datetime,
        comment: str = "",
        expected_version: int | None = None,
    ) -> RuleSet:
        """Validate and store a new version (audited: who, when, diff); `install` it after commit."""
        current = await repo.latest_ruleset(session)
        current_version = current["version"] if current else 0
        if expected_version is not None and expected_version != current_version:
            raise Conflict(
                f"the rules in force are version {current_version}, not {expected_version}", field="expected_version"
            )
        try:
            rules = self.parse(text, source, current_version + 1)
        except YamlFileError as exc:
            raise problems_error(exc, "yaml") from exc
        old = current["yaml"] if current else ""
        diff = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"v{current_version}",
                f"v{current_version + 1}",
            )
        )
        await repo.insert_ruleset(
            session,
            version=rules.version,
            name=rules.doc.name,
            yaml=text,
            source=source,
            created_by=who,
            created_at=now,
            comment=comment,
            diff=diff,
        )
        return rules

    async def reload_file(self, session: AsyncSession, who: str, now: datetime, path: Path | None = None) -> RuleSet:
        path = path or self.settings.rules_path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise Invalid(f"{path}: cannot read: {exc.strerror or exc}", field="rules_path") from exc
        try:
            self.parse(text, str(path))
        except YamlFileError as exc:
            raise problems_error(exc, "rules_path") from exc
        return await self.save_rules(
            session, text, source=f"file:{path.name}", who=who, now=now, comment=f"reloaded from {path}"
        )

    async def refresh(self, session: AsyncSession) -> RuleSet | None:
        """A newer version another replica stored, parsed; None if there is none (or it does not validate)."""
        if await repo.latest_version(session) <= self.rules.version:
            return None
        row = await repo.latest_ruleset(session)
        assert row is not None
        try:
            return self.parse(row["yaml"], f"rule set v{row['version']}", row["version"])
        except YamlFileError as exc:
            log.error("router_stored_rules_invalid", version=row["version"], error=str(exc))
            return None

    def describe(self, row: dict[str, Any]) -> dict[str, Any]:
        """A stored version with its rules in precedence order (none listed if it no longer validates here)."""
        try:
            rules = self.rules if row["version"] == self.rules.version else self.parse(row["yaml"], "stored")
        except YamlFileError:
            return {**row, "rules": []}
        return {**row, "rules": rule_summaries(rules.ordered)}

    # -- routing -------------------------------------------------------------------------------------------------

    async def prepare(self, session: AsyncSession, reports: Sequence[ReportReceived], now: datetime) -> None:
        """Before a batch of reports is decided in one transaction: analyse them all, take every merge lock
        they need at once, in ascending order (taking them report by report could deadlock two batches), then
        read which are decided already and the open primaries near each, one statement each for the batch.

        What it learnt is kept on the session (`_Batch`) for `handle_report`, so nothing is done twice.
        """
        rules = self.rules
        decided = await repo.decided_among(session, [r.report_id for r in reports])
        batch = _Batch(rules.version, decided)
        keys: list[int] = []
        for report in reports:
            if report.report_id not in decided:
                analysis = batch.analysed[report.report_id] = analyse(report, self.ref, rules, now)
                keys += self._merge_keys(analysis, rules)
        await repo.lock_neighbourhoods(session, keys)
        searches = {rid: s for rid, a in batch.analysed.items() if (s := self._search(a, rules)) is not None}
        found = await repo.open_primaries_near_many(session, list(searches.values()))
        batch.candidates = dict(zip(searches, found, strict=True))
        session.info[_BATCH] = batch

    async def decide(
        self,
        session: AsyncSession,
        report: ReportReceived,
        now: datetime,
        rules: RuleSet | None = None,
        *,
        serialise: bool = False,
    ) -> Decision:
        """route() with the open primaries read from the database in between its two halves.

        With `serialise`, the decision holds the merge locks of the report's neighbourhood (category, place)
        until its transaction ends, so that a near duplicate being decided elsewhere (another partition,
        another replica) is seen once it commits; reports elsewhere or of other categories do not wait.
        """
        rules = rules or self.rules
        started = time.perf_counter()
        batch: _Batch | None = session.info.get(_BATCH)
        kept = batch.analysed.pop(report.report_id, None) if batch and batch.version == rules.version else None
        if batch is not None and kept is not None:  # locked and looked up with its batch (`prepare`)
            analysis = kept
            candidates = [*batch.candidates.pop(report.report_id, []), *batch.added]
        else:
            analysis = analyse(report, self.ref, rules, now)
            if serialise:
                await repo.lock_neighbourhoods(session, self._merge_keys(analysis, rules))
            search = self._search(analysis, rules)
            candidates = (await repo.open_primaries_near_many(session, [search]))[0] if search else []
        decision = decide(analysis, self.ref, rules, InMemoryPrimaries(candidates))
        ROUTE_SECONDS.observe(time.perf_counter() - started)
        return decision

    @staticmethod
    def _merge_keys(analysis: Analysis, rules: RuleSet) -> list[int]:
        location = analysis.located.location
        if analysis.category is None or location is None:
            return []  # nothing to merge with: no lock
        window = rules.doc.merge.window_for(analysis.category.id)
        return neighbourhood_keys(analysis.category.id, location.lon, location.lat, window.radius_m)

    @staticmethod
    def _search(analysis: Analysis, rules: RuleSet) -> repo.Search | None:
        """Where and since when open primaries could take this report; None if it cannot merge at all."""
        location = analysis.located.location
        if analysis.category is None or location is None:
            return None
        window = rules.doc.merge.window_for(analysis.category.id)
        since = analysis.report.received_at - timedelta(hours=window.window_hours)
        return repo.Search(analysis.category.id, since, SearchBox.around(location.lon, location.lat, window.radius_m))

    async def handle_report(
        self, session: AsyncSession, emit: Emit, report: ReportReceived, now: datetime
    ) -> Decision | None:
        batch: _Batch | None = session.info.get(_BATCH)
        if report.report_id in batch.decided if batch else await repo.decision_exists(session, report.report_id):
            return None  # the same report published again under another envelope id
        decision = await self.decide(session, report, now, serialise=True)
        repo.stage_decision(session, **self._decision_row(decision, now))
        primary = self._primary_of(decision)
        if primary is not None:
            repo.stage_primary(session, primary)
        if batch is not None:
            batch.decided.add(report.report_id)
            if primary is not None:
                batch.added.append(primary)
        if decision.outcome == "manual":
            await self._enqueue(session, decision, now)
        await emit(decision.body)
        DECISIONS.labels(decision.outcome, decision.rule_id).inc()
        return decision

    @staticmethod
    def _decision_row(d: Decision, now: datetime, decided_by: str | None = None) -> dict[str, Any]:
        body = d.body
        return {
            "report_id": body.report_id,
            "outcome": d.outcome,
            "category_id": d.category_id,
            "department_code": getattr(body, "department_code", None),
            "rule_id": d.rule_id,
            "ruleset_version": d.ruleset_version,
            "reason": d.reason,
            "decided_by": decided_by,
            "decided_at": now,
        }

    @staticmethod
    def _primary_of(d: Decision) -> OpenPrimary | None:
        """The open primary a routed report becomes (later reports of the same problem merge into its case)."""
        body = d.body
        if not isinstance(body, RoutingDecided) or body.location is None:
            return None
        return OpenPrimary(
            report_id=body.report_id,
            category_id=body.category.code,
            lon=body.location.lon,
            lat=body.location.lat,
            received_at=body.report.received_at,
        )

    async def _enqueue(self, session: AsyncSession, d: Decision, now: datetime) -> None:
        assert isinstance(d.body, ManualDispatchNeeded)
        location = d.analysis.located.location
        await repo.enqueue(
            session,
            report_id=d.body.report_id,
            report=d.analysis.report.model_dump(mode="json"),
            reason=d.body.reason,
            candidates=[c.model_dump(mode="json") for c in d.body.candidates],
            grid=d.body.grid.model_dump(mode="json"),
            lon=location.lon if location else None,
            lat=location.lat if location else None,
            queued_at=now,
        )

    async def handle_update(self, session: AsyncSession, update: ReportUpdated) -> None:
        item = await repo.queue_item(session, update.report_id, for_update=True)
        if item is None or item["status"] not in ("waiting", "claimed"):
            return
        if update.kind == "withdrawn":
            await repo.update_queue(
                session, update.report_id, status="withdrawn", closed_at=update.at, closed_by="reporter"
            )
        elif update.kind in ("supplement", "repeated"):
            note = {"kind": update.kind, "at": update.at.isoformat(), "text": update.text, "count": update.count}
            await repo.update_queue(session, update.report_id, notes=[*item["notes"], note])

    # -- dispatchers' queue --------------------------------------------------------------------------------------

    async def claim(self, session: AsyncSession, report_id: str, who: Principal, now: datetime) -> dict[str, Any]:
        item = await self._open_item(session, report_id)
        if item["status"] == "claimed" and item["claimed_by"] != who.subject and not _overrides(who):
            raise Conflict(f"claimed by {item['claimed_by']} at {item['claimed_at']:%Y-%m-%d %H:%M}", field="report_id")
        await repo.update_queue(session, report_id, status="claimed", claimed_by=who.subject, claimed_at=now)
        return {**item, "status": "claimed", "claimed_by": who.subject, "claimed_at": now}

    async def dispatch(
        self, session: AsyncSession, emit: Emit, report_id: str, req: DispatchIn, who: Principal, now: datetime
    ) -> RoutingDecided:
        item = await self._open_item(session, report_id)
        if item["status"] == "claimed" and item["claimed_by"] != who.subject and not _overrides(who):
            raise Conflict(f"claimed by {item['claimed_by']}; claim it first", field="report_id")
        ref = self.ref
        if req.category not in ref.taxonomy:
            raise Invalid(f"unknown taxonomy category {req.category!r}", field="category")
        if req.department not in ref.departments:
            raise Invalid(f"unknown department {req.department!r}", field="department")
        for code in req.whistle_departments:
            if code not in ref.departments:
                raise Invalid(f"unknown department {code!r}", field="whistle_departments")
        if req.whistle_departments and not req.whistle:
            raise Invalid("whistle departments given but whistle is false", field="whistle")
        category = ref.taxonomy.get(req.category)
        profile = req.deadline_profile or category.deadline_profile
        if profile not in ref.taxonomy.profiles:
            raise Invalid(f"unknown deadline profile {profile!r}", field="deadline_profile")
        grid, location = GridRef.model_validate(item["grid"]), None
        if item["lon"] is not None:
            location = Location(lon=item["lon"], lat=item["lat"], crs=Crs.WGS84)
        if req.cell_code:
            cell = ref.locator.cells.areas.get(req.cell_code)
            if cell is None:
                raise Invalid(f"unknown grid cell {req.cell_code!r}", field="cell_code")
            located = ref.locator.at(*cell.geometry.representative_point().coords[0])
            assert located is not None
            grid, location = located.grid, located.location
        if not grid.street_code:
            raise Invalid("the report has no place on the grid: give the cell_code it belongs to", field="cell_code")
        report = ReportReceived.model_validate(item["report"])
        body = RoutingDecided(
            report_id=report_id,
            report=routed_report(report),
            category=category.ref(),
            category_kind=category.kind,
            classification_confidence=1.0,
            location=location,
            grid=grid,
            department_code=req.department,
            priority=req.priority,
            deadline_profile=profile,
            whistle=req.whistle,
            whistle_departments=req.whistle_departments,
            rule=RuleRef(
                rule_id=MANUAL_RULE_ID,
                ruleset_version=self.rules.version,
                reason=f"dispatched by hand by {who.subject}: {req.reason}",
            ),
            decided_by=Actor(id=who.subject, role=who.role.value, unit=who.unit),
        )
        await repo.update_queue(session, report_id, status="dispatched", closed_by=who.subject, closed_at=now)
        await repo.upsert_decision(
            session,
            report_id=report_id,
            outcome="routed",
            category_id=category.id,
            department_code=req.department,
            rule_id=MANUAL_RULE_ID,
            ruleset_version=self.rules.version,
            reason=body.rule.reason,
            decided_by=who.subject,
            decided_at=now,
        )
        if body.location is not None:
            radius_m = self.rules.doc.merge.window_for(category.id).radius_m
            await repo.lock_neighbourhoods(
                session, neighbourhood_keys(category.id, body.location.lon, body.location.lat, radius_m)
            )
            await repo.add_primary(
                session, OpenPrimary(report_id, category.id, body.location.lon, body.location.lat, report.received_at)
            )
        await emit(body)
        DECISIONS.labels("routed", MANUAL_RULE_ID).inc()
        return body

    async def _open_item(self, session: AsyncSession, report_id: str) -> dict[str, Any]:
        item = await repo.queue_item(session, report_id, for_update=True)
        if item is None:
            raise NotFound(f"report {report_id!r} is not in the dispatchers' queue", field="report_id")
        if item["status"] not in ("waiting", "claimed"):
            raise Conflict(f"report {report_id!r} is already {item['status']}", field="report_id")
        return item

    # -- dry run -------------------------------------------------------------------------------------------------

    async def dry_run(
        self, session: AsyncSession, report: ReportReceived, now: datetime, rules_yaml: str | None
    ) -> dict[str, Any]:
        rules = self.rules
        if rules_yaml is not None:
            try:
                rules = self.parse(rules_yaml, "proposed rules", self.rules.version + 1)
            except YamlFileError as exc:
                raise problems_error(exc, "rules_yaml") from exc
        d = await self.decide(session, report, now, rules)
        a = d.analysis
        return {
            "outcome": d.outcome,
            "rule_id": d.rule_id,
            "ruleset_version": d.ruleset_version,
            "reason": d.reason,
            "event": d.body.model_dump(mode="json", exclude_none=True),
            "classification": asdict(a.classification),
            "located": {
                "method": a.located.method,
                "detail": a.located.detail,
                "grid": a.located.grid.model_dump(mode="json"),
                "location": a.located.location.model_dump(mode="json") if a.located.location else None,
            },
            "local_time": a.local_time,
            "night": a.night,
            "holiday": a.holiday,
        }


def _overrides(who: Principal) -> bool:
    return who.role in (Role.SUPERVISOR, Role.ADMIN)
