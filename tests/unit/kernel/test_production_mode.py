"""With CITYLOOP_ENVIRONMENT=prod, a process refuses to start while anything meant for development is in force."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import DEMO_USERS_FILE, Settings, UnsafeSettings

STRONG = "s" * 32


@pytest.fixture(autouse=True)
def _settings_only_from_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make` exports the demo API keys (CITYLOOP_API_KEYS) for `make run`; these tests say every setting."""
    for name in [n for n in os.environ if n.startswith("CITYLOOP_")]:
        monkeypatch.delenv(name)


def prod(tmp_path: Path, **overrides: Any) -> Settings:
    """Production settings that are safe, except for what a test overrides."""
    users = tmp_path / "users.yaml"
    users.write_text("users: []\n", encoding="utf-8")
    base: dict[str, Any] = {
        "environment": "prod",
        "jwt_secret": "j" * 40,
        "pii_key": "p" * 40,
        "hotline_hmac_secret": "h" * 40,
        "wechat_token": "wx-token",
        "users_file": users,
        "api_keys": {"k" * 40: "hotline"},
        "cors_origins": ["https://console.city.example"],
    }
    return Settings(**(base | overrides))


def refusal(settings: Settings) -> list[str]:
    with pytest.raises(UnsafeSettings) as refused:
        settings.refuse_unsafe()
    return refused.value.problems


def test_safe_production_settings_start(tmp_path: Path) -> None:
    prod(tmp_path).refuse_unsafe()


@pytest.mark.parametrize("secret", ["jwt_secret", "pii_key", "hotline_hmac_secret"])
def test_a_secret_at_its_development_default_is_refused(tmp_path: Path, secret: str) -> None:
    default = Settings.model_fields[secret].default.get_secret_value()
    assert refusal(prod(tmp_path, **{secret: default})) == [f"CITYLOOP_{secret.upper()}: still the development default"]


@pytest.mark.parametrize("secret", ["jwt_secret", "pii_key", "hotline_hmac_secret"])
def test_a_secret_shorter_than_32_bytes_is_refused(tmp_path: Path, secret: str) -> None:
    assert refusal(prod(tmp_path, **{secret: "x" * 31})) == [f"CITYLOOP_{secret.upper()}: shorter than 32 bytes"]
    prod(tmp_path, **{secret: "密" * 11}).refuse_unsafe()  # 33 bytes in UTF-8: bytes count, not characters


def test_the_demo_users_file_is_refused_also_as_a_copy(tmp_path: Path) -> None:
    assert refusal(prod(tmp_path, users_file=DEMO_USERS_FILE))[0].startswith("CITYLOOP_USERS_FILE: the demo users")
    copy = tmp_path / "elsewhere.yaml"
    copy.write_bytes(DEMO_USERS_FILE.read_bytes())
    assert refusal(prod(tmp_path, users_file=copy))[0].startswith("CITYLOOP_USERS_FILE")


def test_demo_and_short_api_keys_are_refused(tmp_path: Path) -> None:
    problems = refusal(prod(tmp_path, api_keys={"demo-hotline": "hotline", "short-key": "video", STRONG: "iot"}))
    assert problems == [
        "CITYLOOP_API_KEYS: the demo key of 'hotline'",
        "CITYLOOP_API_KEYS: the key of 'video' is shorter than 32 bytes",
    ]


def test_cors_open_to_any_origin_is_refused(tmp_path: Path) -> None:
    assert refusal(prod(tmp_path, cors_origins=["*"])) == ["CITYLOOP_CORS_ORIGINS: open to any origin ('*')"]


def test_every_offending_setting_is_named_at_once_and_dev_mode_is_not_refused(tmp_path: Path) -> None:
    defaults = Settings(environment="prod", api_keys={"demo-video": "video"}, cors_origins=["*"])
    problems = refusal(defaults)
    assert {p.split(":")[0] for p in problems} == {
        "CITYLOOP_JWT_SECRET",
        "CITYLOOP_PII_KEY",
        "CITYLOOP_HOTLINE_HMAC_SECRET",
        "CITYLOOP_WECHAT_TOKEN",
        "CITYLOOP_USERS_FILE",
        "CITYLOOP_API_KEYS",
        "CITYLOOP_CORS_ORIGINS",
    }
    Settings(environment="dev", api_keys={"demo-video": "video"}, cors_origins=["*"]).refuse_unsafe()


def test_the_platform_refuses_to_be_built_with_unsafe_production_settings(tmp_path: Path) -> None:
    from services.runtime import Platform

    with pytest.raises(UnsafeSettings):
        Platform([], Settings(environment="prod", database_url="postgresql://nowhere/db"))


def test_the_cli_process_exits_naming_each_offending_setting() -> None:
    env = {
        **os.environ,
        "CITYLOOP_ENVIRONMENT": "prod",
        "CITYLOOP_API_KEYS": '{"demo-iot": "iot"}',
        "CITYLOOP_DATABASE_URL": "postgresql://nowhere/db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "migrate", "all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 2
    for name in ("CITYLOOP_JWT_SECRET", "CITYLOOP_PII_KEY", "CITYLOOP_USERS_FILE", "CITYLOOP_API_KEYS"):
        assert name in done.stderr


def test_dev_mode_says_so_in_the_first_log_line() -> None:
    """In a process of its own: logging is configured once per process, as `cityloop run` does it."""
    code = (
        "from services.cli import _log_environment; from shared.logging import configure_logging; "
        "from shared.settings import get_settings; s = get_settings(); "
        "configure_logging(s.log_level, s.log_json); _log_environment(s)"
    )
    env = {**os.environ, "CITYLOOP_ENVIRONMENT": "dev", "CITYLOOP_API_KEYS": '{"demo-video": "video"}'}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    first = json.loads(done.stderr.splitlines()[0])
    assert first["event"] == "environment" and first["environment"] == "dev" and first["level"] == "warning"
    assert "development mode" in first["note"]
    assert "CITYLOOP_API_KEYS: the demo key of 'video'" in first["unsafe_settings"]
