"""Tools (benchmarks, evaluation, the city simulator) are not part of a production process."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app


def test_the_simulator_refuses_to_start_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITYLOOP_ENVIRONMENT", "prod")
    # otherwise-safe production settings, so that the simulator is what is refused
    (tmp_path / "users.yaml").write_text("users: []\n", encoding="utf-8")
    for name in ("JWT_SECRET", "PII_KEY", "HOTLINE_HMAC_SECRET"):
        monkeypatch.setenv(f"CITYLOOP_{name}", "x" * 40)
    monkeypatch.setenv("CITYLOOP_WECHAT_TOKEN", "wx-token")
    monkeypatch.setenv("CITYLOOP_USERS_FILE", str(tmp_path / "users.yaml"))
    monkeypatch.setenv("CITYLOOP_API_KEYS", "{}")
    from shared.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["run", "all", "--simulate", "5", "--port", "1"], env={"COLUMNS": "400"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "never runs in production" in result.output
