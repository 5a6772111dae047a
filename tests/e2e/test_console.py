"""The operator console in a real browser: one case worked from the dispatchers' queue to closed.

Headless Chromium from Debian's `chromium` package, driven by Playwright (its own browser download is not
used: the network may be closed). The platform runs in-process behind a real HTTP server, as in
`test_simulation.py`; the people sign in with the demo accounts of `deploy/demo/users.yaml`. Screenshots
go to `var/test-artifacts/console/`.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from intake.signing import signed_headers
from services.registry import load_many
from services.runtime import create_app
from shared.auth import Role
from tests.e2e.test_simulation import free_port
from tests.support.harness import RunningPlatform, running_platform
from tools.simulation.texts import VAGUE

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "console"

playwright_api = pytest.importorskip("playwright.async_api", reason="Playwright for Python is not installed")
if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
    pytest.skip(
        "Debian's chromium is not installed (deploy/test.sh installs it with apt-get when it can)",
        allow_module_level=True,
    )

Page = Any


@dataclass
class Console:
    url: str
    platform: RunningPlatform


@pytest.fixture
async def console(pg_url: str, tmp_path: Path) -> AsyncIterator[Console]:
    async with running_platform(pg_url, load_many("all"), media_dir=tmp_path / "media") as p:
        app = create_app(p.platform, manage_lifecycle=False)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            yield Console(f"http://127.0.0.1:{port}", p)
        finally:
            server.should_exit = True
            await serving


def png(path: Path) -> Path:
    """A real 16×12 PNG (a photo the intake checks accept), written without an imaging library."""
    width, height = 16, 12
    raw = b"".join(b"\x00" + b"".join(bytes((x * 15, y * 20, 120)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


async def file_vague_ticket(p: RunningPlatform) -> str:
    """A 12345 ticket no rule can decide: it waits in the dispatchers' queue."""
    body = orjson.dumps(
        {
            "ticket_no": f"UI-{uuid.uuid4().hex[:8]}",
            "call_time": datetime.now(UTC).isoformat(),
            "caller": {"name": "李先生", "phone": "13900139000"},
            "content": VAGUE[2],
            "address": "草河北路12号",
            "hotline_class": "general",
        }
    )
    secret = p.settings.hotline_hmac_secret.get_secret_value()
    answer = await p.client.post(
        "/v1/hotline/tickets", content=body, headers=signed_headers(secret, body, datetime.now(UTC))
    )
    assert answer.status_code == 202, answer.text
    report_id = str(answer.json()["report_id"])
    await p.drain()
    status = (await p.client.get(f"/v1/reports/{report_id}", headers=p.auth(Role.DISPATCHER))).json()
    assert status["stage"] == "queued", status
    return report_id


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def unlabelled_controls(page: Page) -> list[str]:
    """Form controls a screen reader could not name: no <label>, no aria-label."""
    found: list[str] = await page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML.slice(0, 120))""")
    return found


async def sign_in_by_keyboard(page: Page, url: str, username: str, hash_: str = "") -> None:
    await page.goto(f"{url}/console{hash_}")
    await page.wait_for_selector("#username")
    assert await unlabelled_controls(page) == []
    await page.keyboard.type(username)  # the user name field has the focus on arrival
    await page.keyboard.press("Tab")
    await page.keyboard.type("demo")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#signout:not([hidden])")


async def tab_to(page: Page, selector: str, at_most: int = 80) -> None:
    """Press Tab until `selector` has the focus: the control is reachable by keyboard alone."""
    for _ in range(at_most):
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


async def confirm_dialog(page: Page) -> None:
    """Every command is confirmed in the dialog; reach its confirm button by keyboard and press Enter."""
    await page.wait_for_selector("dialog[open]")
    assert await unlabelled_controls(page) == []
    await tab_to(page, "#dialog-ok")
    await page.keyboard.press("Enter")
    await page.wait_for_function("() => !document.getElementById('dialog').open", timeout=15000)


async def closed_today(page: Page) -> int:
    await page.wait_for_selector("[data-tile=closed] .value")
    return int(await page.inner_text("[data-tile=closed] .value"))


async def case_of(p: RunningPlatform, report_id: str) -> dict[str, Any]:
    await p.drain()
    status = (await p.client.get(f"/v1/reports/{report_id}", headers=p.auth(Role.DISPATCHER))).json()
    assert status["case"], status
    case: dict[str, Any] = (
        await p.client.get(f"/v1/cases/{status['case']['case_id']}", headers=p.auth(Role.ADMIN))
    ).json()
    return case


@pytest.mark.timeout(300)
async def test_a_queued_report_is_worked_to_closed_in_the_browser(console: Console, tmp_path: Path) -> None:
    p, url = console.platform, console.url
    report_id = await file_vague_ticket(p)
    photo = png(tmp_path / "result.png")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        errors: list[str] = []

        async def person(username: str, hash_: str = "") -> Page:
            context = await browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(f"{username}: {e} {e.stack}"))
            await sign_in_by_keyboard(page, url, username, hash_)
            return page

        # the dispatcher claims the queued report and dispatches it, by keyboard
        dispatcher = await person("dispatcher1")
        row = f'tr[data-report="{report_id}"]'
        await dispatcher.wait_for_selector(row)
        assert "这边情况很复杂" in await dispatcher.inner_text(row), "the report's own words are shown"
        assert await unlabelled_controls(dispatcher) == []
        await tab_to(dispatcher, f'{row} button[data-action="claim"]')
        await dispatcher.keyboard.press("Enter")
        await dispatcher.wait_for_selector(f'{row} button[data-action="dispatch"]')
        await dispatcher.focus(f'{row} button[data-action="dispatch"]')
        await dispatcher.keyboard.press("Enter")
        await dispatcher.wait_for_selector("#dialog[open] select[name=category]")
        await dispatcher.select_option("#dialog select[name=category]", "I0508")  # 占道经营, street vending
        assert await dispatcher.input_value("#dialog select[name=department]") == "CGZF", "the owner is suggested"
        await shot(dispatcher, "01-dispatcher-dispatch-dialog")
        await confirm_dialog(dispatcher)
        await dispatcher.wait_for_selector(row, state="detached")
        case = await case_of(p, report_id)
        assert (case["state"], case["department_code"]) == ("dispatched", "CGZF")
        await dispatcher.reload()
        await dispatcher.wait_for_selector(f'tr[data-case="{case["case_no"]}"]')
        await shot(dispatcher, "02-dispatcher-view")

        screen = await person("dispatcher1", "#/screen")
        closed_before = await closed_today(screen)

        # the department acknowledges and handles it with a photo, from its inbox
        department = await person("dept-CGZF")
        assert "#/inbox" in department.url
        inbox_row = f'tr[data-case="{case["case_no"]}"]'
        await department.wait_for_selector(f'{inbox_row} button[data-action="acknowledge"]')
        await shot(department, "03-department-inbox")
        await department.click(f'{inbox_row} button[data-action="acknowledge"]')
        await confirm_dialog(department)
        await department.wait_for_selector(f'{inbox_row} button[data-action="handle"]')
        # the case page offers exactly what the server allows this user now
        await department.click(f"{inbox_row} a")
        await department.wait_for_selector(".action-buttons")
        allowed = (await p.client.get(f"/v1/cases/{case['id']}", headers=p.auth(Role.DEPARTMENT, "CGZF"))).json()
        offered = await department.eval_on_selector_all(".action-buttons button", "bs => bs.map(b => b.dataset.action)")
        assert sorted(offered) == sorted(allowed["allowed_actions"]) and "handle" in offered
        await department.click('button[data-action="handle"]')
        await department.fill("dialog textarea[name=result]", "已劝离占道摊贩，现场已清理")
        await department.set_input_files("dialog input[name=photos]", str(photo))
        await confirm_dialog(department)
        await department.wait_for_selector("text=已劝离占道摊贩")
        await shot(department, "04-case-handled")
        assert (await case_of(p, report_id))["state"] == "handled"

        # an inspector verifies on site, with a photo
        inspector = await person("inspector1", f"#/case/{case['id']}")
        await inspector.click('button[data-action="verify_pass"]')
        await inspector.set_input_files("dialog input[name=photos]", str(photo))
        await confirm_dialog(inspector)
        await inspector.wait_for_selector('button[data-action="verify_pass"]', state="detached")
        assert (await case_of(p, report_id))["state"] == "verified"

        # the dispatcher closes; the timeline shows the whole loop
        await dispatcher.goto(f"{url}/console#/case/{case['id']}")
        await dispatcher.click('button[data-action="close"]')
        await confirm_dialog(dispatcher)
        await dispatcher.wait_for_selector(".state-closed")
        timeline = await dispatcher.inner_text(".timeline")
        for step in ("立案", "派遣", "签收", "处置反馈", "核查通过", "结案"):
            assert step in timeline, f"{step} is missing from the timeline: {timeline}"
        assert await dispatcher.locator(".photos img").count() >= 1, "the result photo is shown"
        await shot(dispatcher, "05-case-closed")

        # the big screen, refreshing by itself, counts one more closed case
        await p.drain()
        await screen.wait_for_function(
            f"() => Number(document.querySelector('[data-tile=closed] .value')?.textContent) > {closed_before}",
            timeout=30000,
        )
        await shot(screen, "06-big-screen")

        # English is one switch away
        await dispatcher.click("#lang")
        await dispatcher.wait_for_selector("text=Timeline")
        await browser.close()
        assert errors == [], errors
