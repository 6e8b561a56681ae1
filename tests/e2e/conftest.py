"""Browser-test harness: uvicorn in a thread, headless Chromium through Playwright, screenshots on failure.

The app under test is ``create_app(settings, database=None)`` served by uvicorn on
127.0.0.1 in a background thread with its own event loop: it builds its own engine,
Redis client and job sender there, so nothing loop-bound is shared with the tests.

Its lifespan installs process-wide handles (database, job sender) that would also be
seen by the test loop. Once the server is up they are replaced by routers that hand
the server's loop its own objects and every other caller the ones that were current
before, so the session ``database`` fixture and the other suites keep working while
the server lives. The lifespan restores the originals when the server stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Error, Page, async_playwright, expect

from backend.app import create_app
from backend.config import Settings
from backend.db.database import Database, current_database, set_database
from backend.db.uow import JobRequest
from backend.kit import jobs
from tests.browser_setup import find_browser

log = logging.getLogger("tests.e2e")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_SECONDS = 30.0
ACTION_TIMEOUT_MS = 10_000
SCREENSHOT_SECONDS = 20.0
PAGES_KEY = pytest.StashKey[tuple[asyncio.AbstractEventLoop, list[BrowserContext]]]()

expect.set_options(timeout=ACTION_TIMEOUT_MS)


# --- the live server -------------------------------------------------------------------------

class _ByLoop:
    """Picks the object made for the calling event loop: the server's own, else the test side's."""

    def __init__(self, server_loop: asyncio.AbstractEventLoop, server: Any, others: Any) -> None:
        self.server_loop, self.server, self.others = server_loop, server, others

    def pick(self) -> Any:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        return self.server if running is self.server_loop else self.others


class LoopRoutedDatabase:
    """Stands in for the process-wide Database: each loop keeps using its own engines."""

    def __init__(self, route: _ByLoop) -> None:
        self._route = route

    def __getattr__(self, name: str) -> Any:
        target = self._route.pick()
        if target is None:
            raise RuntimeError("database not initialised for this event loop")
        return getattr(target, name)


def loop_routed_sender(route: _ByLoop) -> jobs.JobSender:
    async def send(batch: Sequence[JobRequest]) -> None:
        target = route.pick()
        if target is None:  # what send_jobs does without a sender
            log.error("no job sender configured; dropping %d job(s)", len(batch))
            return
        await target(batch)

    return send


@dataclass
class LiveServer:
    url: str
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    database: LoopRoutedDatabase


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
async def live_server(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    sock = _listening_socket()
    port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    app_settings = settings.with_overrides(public_url=url)
    app = create_app(app_settings, database=None)
    # log_config=None: uvicorn must not reconfigure the process's logging under the other tests.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning",
                                           access_log=False, ws="none", timeout_graceful_shutdown=5))
    loops: list[asyncio.AbstractEventLoop] = []
    crashed: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            loops.append(asyncio.get_running_loop())
            await server.serve(sockets=[sock])

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the fixture, which is waiting for readiness
            crashed.append(exc)

    previous_db, previous_sender = current_database(), jobs.current_job_sender()
    thread = threading.Thread(target=run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer"
    async with httpx.AsyncClient(base_url=url, timeout=2.0) as http:
        while True:
            if not thread.is_alive():
                sock.close()
                pytest.fail(f"the e2e server stopped during start-up: {crashed!r} (uvicorn exit code "
                            f"{'should_exit' if server.should_exit else 'unknown'})", pytrace=False)
            try:
                response = await http.get("/readyz")
                if response.status_code == 200:
                    break
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                server.should_exit = True
                await asyncio.to_thread(thread.join, 10)
                pytest.fail(f"the e2e server at {url} was not ready within {STARTUP_SECONDS:.0f}s: {last}",
                            pytrace=False)
            await asyncio.sleep(0.05)  # poll interval of the bounded readiness loop

    # The lifespan has pointed the process-wide handles at the server's loop-bound objects.
    server_db, server_sender = current_database(), jobs.current_job_sender()
    assert server_db is not None
    assert server_db is not previous_db, "the app did not create its own engine"
    routed = LoopRoutedDatabase(_ByLoop(loops[0], server_db, previous_db))
    set_database(routed)  # type: ignore[arg-type]
    jobs.set_job_sender(loop_routed_sender(_ByLoop(loops[0], server_sender, previous_sender)))
    try:
        yield LiveServer(url=url, settings=app_settings, server=server, thread=thread, loop=loops[0],
                         database=routed)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
        sock.close()
        assert not thread.is_alive(), "the e2e server did not stop"
        assert not crashed, f"the e2e server failed: {crashed!r}"
        # The lifespan put back what it found at start-up (the test loop's database and sender).
        assert current_database() is previous_db
        assert jobs.current_job_sender() is previous_sender


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
