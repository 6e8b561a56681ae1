"""Browser-test harness: the app in a uvicorn child process, headless Chromium through Playwright,
screenshots on failure.

The server (``tests/apiserver.py``) runs ``backend.app:app_from_env`` on 127.0.0.1 against the
session's database and Redis, so the browser talks real HTTP to a real process and the tests
can still check the database directly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Error, Page, async_playwright, expect

from backend.config import Settings
from backend.db.database import Database
from tests.apiserver import ApiServer
from tests.browser_setup import find_browser

log = logging.getLogger("tests.e2e")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ACTION_TIMEOUT_MS = 10_000
SCREENSHOT_SECONDS = 20.0
PAGES_KEY = pytest.StashKey[tuple[asyncio.AbstractEventLoop, list[BrowserContext]]]()

expect.set_options(timeout=ACTION_TIMEOUT_MS)


# --- the live server -------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str


@pytest.fixture(scope="session")
async def live_server(settings: Settings, database: Database,
                      tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    """The real app over real HTTP, in its own process (nothing is shared with the test loop)."""
    server = ApiServer(settings.database_url or "", settings.redis_url or "", tmp_path_factory.mktemp("e2e-server"),
                       name="e2e", extra_env={
                           "TANDEM_QUEUE_NAME": settings.queue_name,
                           "TANDEM_SIGNUPS_PER_IP_PER_HOUR": "100000",
                           "TANDEM_RESET_REQUESTS_PER_IP_PER_HOUR": "100000",
                           "TANDEM_LOG_LEVEL": "WARNING",
                       })
    await server.start()
    try:
        yield LiveServer(url=server.base_url)
    finally:
        await server.stop()


# --- the browser -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = find_browser()
    if executable is None:
        where = "in CI (CI is set)" if os.environ.get("CI") else "on this machine"
        pytest.fail(f"No Chromium found {where}: the browser tests need one. Install it (Debian: "
                    "`apt-get install chromium`, or run `make test`, whose `python -m tests.browser_setup` "
                    "installs it as root) or point TANDEM_CHROMIUM at a Chromium binary.", pytrace=False)
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Error as exc:
        await playwright.stop()
        pytest.fail(f"Chromium at {executable} did not start: {exc}", pytrace=False)
    try:
        yield launched
    finally:
        await launched.close()
        await playwright.stop()


NewContext = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(browser: Browser, live_server: LiveServer,
                      request: pytest.FixtureRequest) -> AsyncIterator[NewContext]:
    """Fresh browser contexts (own cookies) on the live server; a page's JS errors fail the test."""
    opened: list[BrowserContext] = []
    js_errors: list[str] = []
    request.node.stash[PAGES_KEY] = (asyncio.get_running_loop(), opened)

    async def make(**options: Any) -> BrowserContext:
        context = await browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("page", lambda p: p.on("pageerror", lambda e: js_errors.append(f"{p.url}: {e}")))
        opened.append(context)
        return context

    yield make
    for context in opened:
        await context.close()
    assert not js_errors, f"JavaScript errors in the pages: {js_errors}"


@pytest.fixture
async def page(new_context: NewContext) -> Page:
    context = await new_context()
    return await context.new_page()


# --- screenshots of failures -----------------------------------------------------------------

def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "test"


async def _screenshot_all(contexts: list[BrowserContext], folder: Path, stem: str) -> list[Path]:
    saved: list[Path] = []
    pages = [p for c in contexts for p in c.pages if not p.is_closed()]
    for n, shot in enumerate(pages, start=1):
        target = folder / f"{stem}-{n}.png"
        try:
            await shot.screenshot(path=str(target), full_page=True, timeout=10_000)
        except Error as exc:
            log.warning("could not screenshot %s: %s", shot.url, exc)
            continue
        saved.append(target)
    return saved


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    found = item.stash.get(PAGES_KEY, None)
    if not report.failed or report.when == "teardown" or found is None:
        return report
    loop, contexts = found
    if loop.is_closed() or loop.is_running():
        return report
    folder = item.config.rootpath / "test-artifacts" / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        saved = loop.run_until_complete(
            asyncio.wait_for(_screenshot_all(contexts, folder, _safe_name(item.name)), SCREENSHOT_SECONDS))
    except (TimeoutError, Error) as exc:
        report.sections.append(("e2e screenshots", f"could not take screenshots: {exc!r}"))
        return report
    if saved:
        listing = "\n".join(str(p) for p in saved)
        print(f"\n[e2e] screenshots of {item.nodeid}:\n{listing}")
        report.sections.append(("e2e screenshots", listing))
    return report
