"""Tools (benchmarks, evaluation, the city simulator) are not part of a production process."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from services.cli import app


def test_the_simulator_refuses_to_start_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYLOOP_ENVIRONMENT", "prod")
    from shared.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["run", "all", "--simulate", "5", "--port", "1"], env={"COLUMNS": "400"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "never runs in production" in result.output
