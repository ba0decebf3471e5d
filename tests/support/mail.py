"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) and the mailbox that keeps what it accepted."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.servers import free_port


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def text(self) -> str:
        return str(self.message.get_content())

    def link(self, path: str) -> str:
        """The first link in the text whose path starts with ``path``."""
        found = re.search(r"https?://\S+" + re.escape(path) + r"\S*", self.text)
        assert found, self.text
        return found.group(0)


class Mailbox:
    """aiosmtpd's handler: keeps every message the server accepted."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self.port: int | None = None  # where its server listens, once started

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.recipients]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    mailbox.port = port
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
