"""What the simulator did: reports per channel and answer, actions per kind, refusals by status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class SimulationStats:
    reports: Counter[str] = field(default_factory=Counter)
    """Reports sent per channel (a WeChat session counts once, however many messages it took)."""
    answers: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(channel, intake's answer status): accepted, duplicate, repeated, ignored, recovered, updated."""
    actions: Counter[str] = field(default_factory=Counter)
    """Case commands that succeeded, by kind: acknowledge, handle, return, whistle, check_in, callback…"""
    satisfaction: Counter[str] = field(default_factory=Counter)
    """Callbacks by the citizen's answer: satisfied, basic, unsatisfied."""
    errors: Counter[str] = field(default_factory=Counter)
    """Failed requests by HTTP status (or exception name): `409`, `422`, `ConnectError`…"""
    error_samples: dict[str, str] = field(default_factory=dict)
    """The first answer seen for each (what, status), to tell a broken API from an expected refusal."""
    cases_seen: set[str] = field(default_factory=set)
    requests: int = 0

    def report(self, channel: str, status: str | None) -> None:
        self.reports[channel] += 1
        if status:
            self.answers[(channel, status)] += 1

    def error(self, what: str, status: str, detail: str = "") -> bool:
        """Count a failure; True the first time this request met this status (worth a log line)."""
        self.errors[status] += 1
        key = f"{what} {status}"
        first = key not in self.error_samples
        self.error_samples.setdefault(key, detail[:300])
        return first

    def summary(self) -> str:
        """One log line: `reports hotline=12 patrol=5 … | cases 14 | acknowledge=9 … | errors 409=2`."""
        reports = " ".join(f"{k}={v}" for k, v in sorted(self.reports.items())) or "none"
        actions = " ".join(f"{k}={v}" for k, v in sorted(self.actions.items())) or "none"
        errors = " ".join(f"{k}={v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"reports {reports} | cases {len(self.cases_seen)} | actions {actions} | "
            f"errors {errors} | requests {self.requests}"
        )
