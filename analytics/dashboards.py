"""Grafana dashboards as code: `python -m analytics.dashboards [OUT_DIR]` writes their JSON and provisioning.

Three boards: the live operations board (intake by channel, backlog by state, overdue, escalations),
the department scoreboard (SQL panels on the analytics schema, the same SQL as `GET /v1/kpis`) and
platform health (consumer lag, errors, latency, outbox, dead letters). PromQL panels use only
metrics some service exports (`tests/integration/analytics/test_dashboards.py` checks it against
a real Prometheus).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

from analytics.config import ScoringConfig, default_scoring
from analytics.scores import SCORES, Dimension, grafana_sql

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT = REPO_ROOT / "deploy" / "grafana"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="cityloop-prometheus")
POSTGRES = DataSourceRef(type_val="grafana-postgresql-datasource", uid="cityloop-postgres")
RATE = "$__rate_interval"


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL data source (the SDK ships no builder for it)."""

    def __init__(self, sql: str, ref_id: str, fmt: str) -> None:
        self.sql, self.ref_id, self.fmt = sql, ref_id, fmt

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": POSTGRES.to_json(),
            "rawSql": self.sql,
            "rawQuery": True,
            "editorMode": "code",
            "format": self.fmt,
        }


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, sql: str, ref_id: str = "A", fmt: str = "table") -> None:
        self._query = SqlQuery(" ".join(sql.split()), ref_id, fmt)

    def build(self) -> cogvariants.Dataquery:
        return self._query


def prom(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id).datasource(PROMETHEUS)


@dataclass
class Grid:
    """Places panels left to right, 24 columns wide."""

    x: int = 0
    y: int = 0
    row_height: int = 0

    def __call__(self, w: int, h: int) -> GridPos:
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        pos = GridPos(x=self.x, y=self.y, w=w, h=h)
        self.x += w
        self.row_height = max(self.row_height, h)
        return pos


def _board(uid: str, title: str, description: str) -> gd.Dashboard:
    return (
        gd.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["cityloop"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
    )


def operations() -> gd.Dashboard:
    g = Grid()
    return (
        _board("cityloop-operations", "CityLoop — live operations", "What comes in, what is waiting, what is late.")
        .with_panel(
            timeseries.Panel()
            .title("Reports received by channel (per minute)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .unit("short")
            .with_target(prom(f"sum by (channel) (rate(cityloop_analytics_reports_total[{RATE}])) * 60", "{{channel}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Cases filed by channel (per minute)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(
                prom(f"sum by (channel) (rate(cityloop_analytics_cases_filed_total[{RATE}])) * 60", "{{channel}}")
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("Open cases by state")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum by (state) (cityloop_cases_open)", "{{state}}"))
        )
        .with_panel(
            stat.Panel()
            .title("Deadlines overdue now")
            .grid_pos(g(6, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum(cityloop_timers_overdue)", "overdue"))
        )
        .with_panel(
            stat.Panel()
            .title("Deadline timers pending")
            .grid_pos(g(6, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum(cityloop_timers_pending)", "pending"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Escalations (督办) by level, per hour")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum by (level) (increase(cityloop_analytics_escalations_total[1h]))", "level {{level}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Closures by department (per hour)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(
                prom("sum by (department) (increase(cityloop_analytics_cases_closed_total[1h]))", "{{department}}")
            )
        )
        .with_panel(
            table.Panel()
            .title("Overdue cases (oldest deadline first)")
            .grid_pos(g(24, 10))
            .datasource(POSTGRES)
            .with_target(
                Sql("""
                        SELECT case_no, department_code AS department, street_code AS street, cell_code AS cell,
                               category_code AS category, state, handle_due_at, escalation_count AS escalations
                        FROM analytics.case_facts
                        WHERE withdrawn_at IS NULL AND state NOT IN ('closed', 'suspended') AND handled_at IS NULL
                          AND handle_due_at < now()
                        ORDER BY handle_due_at LIMIT 200""")
            )
        )
    )


SCOREBOARD_COLUMNS = (
    "cases",
    "closed",
    "open",
    "overdue",
    "round(composite_score::numeric, 1) AS composite",
    "round(100 * on_time_handling_rate::numeric, 1) AS on_time_pct",
    "round(100 * closure_rate::numeric, 1) AS closure_pct",
    "round(100 * response_rate::numeric, 1) AS response_pct",
    "round(100 * satisfaction_rate::numeric, 1) AS satisfaction_pct",
    "round(100 * rework_rate::numeric, 1) AS rework_pct",
    "round(100 * first_contact_rate::numeric, 1) AS first_contact_pct",
    "round(100 * accurate_dispatch_rate::numeric, 1) AS accurate_dispatch_pct",
    "round(median_handling_hours::numeric, 1) AS median_hours",
)


def scoreboard(config: ScoringConfig) -> gd.Dashboard:
    g = Grid()
    board_sql = grafana_sql(config, Dimension.DEPARTMENT, SCOREBOARD_COLUMNS) + " ORDER BY composite DESC NULLS LAST"
    whistle_sql = (
        grafana_sql(
            config,
            Dimension.DEPARTMENT,
            (
                "round(100 * whistle_checkin_rate::numeric, 1) AS checkin_pct",
                "round(100 * whistle_closure_rate::numeric, 1) AS closure_pct",
                "round(100 * whistle_satisfaction_rate::numeric, 1) AS satisfaction_pct",
                "whistle_checkin_rate_den AS summonses",
            ),
        )
        + " WHERE whistle_checkin_rate_den > 0 ORDER BY checkin_pct DESC"
    )
    stage_sql = grafana_sql(
        config,
        Dimension.TOTAL,
        (
            "round(100 * on_time_filing_rate::numeric, 1) AS on_time_filing_pct",
            "round(100 * accurate_dispatch_rate::numeric, 1) AS accurate_dispatch_pct",
            "round(100 * on_time_handling_rate::numeric, 1) AS on_time_handling_pct",
            "round(100 * on_time_closing_rate::numeric, 1) AS on_time_closing_pct",
            "round(100 * same_day_closure_rate::numeric, 1) AS same_day_pct",
        ),
    )
    daily = (
        grafana_sql(
            config,
            Dimension.DAY,
            ("cases AS filed", "closed"),
            key=f"key::timestamp AT TIME ZONE '{config.timezone}' AS time",
        )
        + " ORDER BY 1"
    )
    hot = """
        SELECT cell_code AS cell, category_code AS category, count(*) AS cases
        FROM analytics.case_facts
        WHERE filed_at >= $__timeFrom() AND filed_at < $__timeTo() AND withdrawn_at IS NULL
          AND cell_code IS NOT NULL
        GROUP BY 1, 2 ORDER BY cases DESC, cell, category LIMIT 20"""
    return (
        _board(
            "cityloop-scoreboard",
            "CityLoop — department scoreboard",
            "Scores of docs/metrics.md for cases filed in the time range (same SQL as GET /v1/kpis).",
        )
        .time("now-30d", "now")
        .with_panel(
            table.Panel()
            .title("Department scoreboard")
            .grid_pos(g(24, 12))
            .datasource(POSTGRES)
            .with_target(Sql(board_sql))
        )
        .with_panel(
            table.Panel()
            .title("Stage figures of digital city management")
            .grid_pos(g(12, 5))
            .datasource(POSTGRES)
            .with_target(Sql(stage_sql))
        )
        .with_panel(
            table.Panel()
            .title("Whistle assessment (吹哨报到)")
            .grid_pos(g(12, 8))
            .datasource(POSTGRES)
            .with_target(Sql(whistle_sql))
        )
        .with_panel(
            timeseries.Panel()
            .title("Cases filed and closed per day")
            .grid_pos(g(12, 8))
            .datasource(POSTGRES)
            .with_target(Sql(daily, fmt="time_series"))
        )
        .with_panel(
            table.Panel()
            .title("Hot spots: cells × categories")
            .grid_pos(g(12, 8))
            .datasource(POSTGRES)
            .with_target(Sql(hot))
        )
        .with_panel(
            table.Panel()
            .title("Targets vs actual (任务主线): this month and this year")
            .grid_pos(g(24, 10))
            .datasource(POSTGRES)
            .with_target(Sql(targets_vs_actual(config)))
        )
    )


def targets_vs_actual(config: ScoringConfig) -> str:
    """Every target of the current local month and year against the score so far (GET /v1/targets/progress
    adds the projection); same scoreboard SQL, over the period to now instead of the dashboard's range.
    A target whose unit has no case yet shows as 'no data'."""
    tz = f"'{config.timezone}'"
    parts = []
    for unit, label in (("month", "YYYY-MM"), ("year", "YYYY")):
        start = f"(date_trunc('{unit}', now() AT TIME ZONE {tz}) AT TIME ZONE {tz})"
        period = f"to_char(now() AT TIME ZONE {tz}, '{label}')"
        for dimension in (Dimension.TOTAL, Dimension.DEPARTMENT, Dimension.STREET):
            actual = grafana_sql(config, dimension, ["*"], start=start, end="now()", key="key AS unit")
            values = ", ".join(f"('{s.name}', s.{s.name}::float8, {str(s.higher_is_better).lower()})" for s in SCORES)
            scope = dimension.value
            unit_match = "t.unit = ''" if dimension is Dimension.TOTAL else "t.unit = s.unit"
            parts.append(
                f"SELECT t.period, t.scope, nullif(t.unit, '') AS unit, t.score, "
                f"round(v.actual::numeric, 4) AS actual, "
                f"t.value AS target, round((CASE WHEN v.higher THEN v.actual - t.value ELSE t.value - v.actual END)"
                f"::numeric, 4) AS gap, CASE WHEN v.actual IS NULL THEN 'no data' WHEN (CASE WHEN v.higher THEN "
                f"v.actual >= t.value ELSE v.actual <= t.value END) THEN 'met so far' ELSE 'behind' END AS status "
                f"FROM analytics.targets t LEFT JOIN ({actual}) s ON {unit_match} "
                f"CROSS JOIN LATERAL (VALUES {values}) v(score, actual, higher) "
                f"WHERE t.scope = '{scope}' AND t.period = {period} AND v.score = t.score"
            )
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2, 3, 4"


def health() -> gd.Dashboard:
    g = Grid()
    http = "cityloop_http_request_duration_seconds"
    return (
        _board("cityloop-health", "CityLoop — platform health", "Consumers, outboxes, HTTP errors and latency.")
        .with_panel(
            timeseries.Panel()
            .title("Consumer lag (messages)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum by (service, group, topic) (cityloop_consumer_lag)", "{{group}} {{topic}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Outbox backlog (rows)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum by (service) (cityloop_outbox_backlog)", "{{service}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Events consumed per second")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(
                prom(
                    f"sum by (service, topic, outcome) (rate(cityloop_events_consumed_total[{RATE}]))",
                    "{{service}} {{topic}} {{outcome}}",
                )
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("Events produced per second")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(
                prom(f"sum by (service, topic) (rate(cityloop_events_produced_total[{RATE}]))", "{{service}} {{topic}}")
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("HTTP 5xx share")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .unit("percentunit")
            .with_target(
                prom(
                    f'(sum by (service) (rate({http}_count{{status=~"5.."}}[{RATE}])) '
                    f"or sum by (service) (rate({http}_count[{RATE}])) * 0) "
                    f"/ sum by (service) (rate({http}_count[{RATE}]))",
                    "{{service}}",
                )
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("HTTP latency p95 by route")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .unit("s")
            .with_target(
                prom(f"histogram_quantile(0.95, sum by (le, route) (rate({http}_bucket[{RATE}])))", "{{route}}")
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("Handler latency p95 by topic")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .unit("s")
            .with_target(
                prom(
                    "histogram_quantile(0.95, sum by (le, service, topic) "
                    f"(rate(cityloop_handler_duration_seconds_bucket[{RATE}])))",
                    "{{service}} {{topic}}",
                )
            )
        )
        .with_panel(
            timeseries.Panel()
            .title("Dead-lettered messages (in range)")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum by (service, topic) (cityloop_dlq_messages_total)", "{{service}} {{topic}}"))
        )
        .with_panel(
            timeseries.Panel()
            .title("Events parked for a case not (yet) filed")
            .grid_pos(g(12, 8))
            .datasource(PROMETHEUS)
            .with_target(prom("sum(cityloop_workflow_parked_events)", "parked"))
            .with_target(prom("max(cityloop_workflow_parked_oldest_seconds) / 3600", "oldest (hours)", ref_id="B"))
        )
    )


def dashboards(config: ScoringConfig | None = None) -> dict[str, dict[str, Any]]:
    """File name → dashboard JSON."""
    config = config or default_scoring()
    built = {"operations.json": operations(), "scoreboard.json": scoreboard(config), "health.json": health()}
    return {name: json.loads(json.dumps(board.build(), cls=JSONEncoder)) for name, board in built.items()}


def targets(board: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(panel title, target) of every query of a dashboard."""
    for panel in board.get("panels", []):
        for target in panel.get("targets", []):
            yield panel["title"], target


DATASOURCES = """\
# Grafana data sources for the CityLoop dashboards (generated by `python -m analytics.dashboards`).
apiVersion: 1
datasources:
  - name: CityLoop Prometheus
    uid: cityloop-prometheus
    type: prometheus
    access: proxy
    url: ${CITYLOOP_PROMETHEUS_URL:-http://127.0.0.1:9090}
    isDefault: true
  - name: CityLoop PostgreSQL (analytics)
    uid: cityloop-postgres
    type: grafana-postgresql-datasource
    url: ${CITYLOOP_GRAFANA_PG_HOST:-127.0.0.1:5432}
    user: ${CITYLOOP_GRAFANA_PG_USER:-grafana_reader}
    jsonData:
      database: ${CITYLOOP_GRAFANA_PG_DATABASE:-cityloop}
      sslmode: ${CITYLOOP_GRAFANA_PG_SSLMODE:-disable}
      postgresVersion: 1500
      timescaledb: false
    secureJsonData:
      password: ${CITYLOOP_GRAFANA_PG_PASSWORD}
"""

PROVIDER = """\
# Grafana dashboard provider: loads the generated JSON dashboards of deploy/grafana/dashboards.
apiVersion: 1
providers:
  - name: cityloop
    folder: CityLoop
    type: file
    disableDeletion: true
    allowUiUpdates: false
    options:
      path: ${CITYLOOP_GRAFANA_DASHBOARDS:-/etc/grafana/dashboards/cityloop}
"""


def write(out: Path = OUT) -> list[Path]:
    written = []
    for name, board in dashboards().items():
        path = out / "dashboards" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    for path, content in (
        (out / "provisioning" / "datasources" / "cityloop.yaml", DATASOURCES),
        (out / "provisioning" / "dashboards" / "cityloop.yaml", PROVIDER),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path)


if __name__ == "__main__":
    main()
