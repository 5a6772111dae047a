"""The dashboards an operator provisions from the repository are the ones the code generates."""

from __future__ import annotations

from pathlib import Path

from analytics.dashboards import OUT, write


def test_committed_dashboards_and_provisioning_equal_the_generator(tmp_path: Path) -> None:
    stale = [
        path.relative_to(tmp_path)
        for path in write(tmp_path)
        if (OUT / path.relative_to(tmp_path)).read_text(encoding="utf-8") != path.read_text(encoding="utf-8")
    ]
    assert not stale, f"regenerate with `make dashboards`: {stale}"
