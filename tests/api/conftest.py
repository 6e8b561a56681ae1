"""Fixtures for the API tests: a local SMTP server and a burst arq worker that mails through it."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backend.config import Settings
from backend.db.database import Database, set_database
from backend.kit import jobs
from workers.settings import build_worker


class Inbox:
    """aiosmtpd handler: keeps every message it is handed (the SMTP thread appends, tests read)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on 127.0.0.1 (its own thread); yields the inbox and the smtp:// URL."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def run_worker(settings: Settings, database: Database, smtp: tuple[Inbox, str]) -> Callable[[], Awaitable[None]]:
    """Drain the job queue with a real arq Worker in burst mode, mailing through the local SMTP server."""
    worker_settings = settings.with_overrides(smtp_url=smtp[1])

    async def run() -> None:
        previous_sender = jobs._sender
        worker = build_worker(worker_settings, database=database, burst=True)
        try:
            await asyncio.wait_for(worker.main(), 60)
        finally:
            await worker.close()
            # The worker's startup pointed the process-wide sender and database at itself.
            jobs.set_job_sender(previous_sender)
            set_database(database)

    return run


@pytest.fixture
async def ip_limited_client(client: Any, settings: Settings, database: Database) -> AsyncIterator[Any]:
    """A second app whose per-IP login limit is 3, seen from its own client address."""
    from backend.app import create_app
    from tests.api.helpers import hosted

    limited = settings.with_overrides(login_max_failures_per_ip=3)
    async with hosted(create_app(limited, database=database), "198.51.100.23", database) as c:
        yield c
