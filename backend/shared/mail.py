"""E-mail over SMTP, when SPASM_SMTP_HOST is set: reminders (backend/reminders) and account messages (a password
reset link, a warning that someone used your address to register). Mail is not end-to-end encrypted, so no message
carries health data."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage

from backend.config import Settings

log = logging.getLogger("spasm.mail")


def send(settings: Settings, to: str, subject: str, text: str) -> str | None:
    """Hands one message to the SMTP server: None when it was accepted, else the name of what went wrong."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
        return None
    except (OSError, smtplib.SMTPException) as exc:
        return type(exc).__name__


async def send_account_mail(settings: Settings, to: str, subject: str, text: str) -> None:
    """An account message, sent after the answer (so that its timing tells nothing about whether an account exists);
    a failure is logged without the address or the words."""
    if not settings.smtp_host:
        return
    failure = await asyncio.to_thread(send, settings, to, subject, text)
    if failure:
        log.warning("an account e-mail could not be sent: %s", failure)
