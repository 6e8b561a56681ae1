"""Outbound mail with aiosmtplib; without an SMTP URL, messages are written as .eml files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlparse

import aiosmtplib


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


@dataclass
class Mailer:
    sender: str
    smtp_url: str | None = None
    spool_dir: Path | None = None

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = " ".join(mail.subject.split())  # never a header injection, never a crash
        message["Message-ID"] = f"<{uuid.uuid4().hex}@tandem>"
        message.set_content(mail.text)
        return message

    async def send(self, mail: Mail) -> str:
        """Send (or spool) one message; returns where it went."""
        message = self.build(mail)
        if self.smtp_url:
            url = urlparse(self.smtp_url)
            await aiosmtplib.send(
                message,
                hostname=url.hostname or "127.0.0.1",
                port=url.port or (465 if url.scheme == "smtps" else 25),
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=url.scheme == "smtps",
                start_tls=url.scheme == "smtp+starttls",
                timeout=20,
            )
            return f"smtp://{url.hostname}:{url.port}"
        spool = self.spool_dir or Path(".tandem/mail")
        spool.mkdir(parents=True, exist_ok=True)
        target = spool / f"{message['Message-ID'].strip('<>').split('@')[0]}.eml"
        target.write_bytes(bytes(message))
        return str(target)
