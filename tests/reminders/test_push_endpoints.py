"""In production the server posts only to public https push services, never into its own network (SSRF)."""

from __future__ import annotations

import pytest

from backend.reminders.routes import public_push_service


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x",
    "https://web.push.apple.com/QGx", "https://8.8.8.8/push",
])  # fmt: skip
def test_public_push_services_are_accepted(endpoint: str) -> None:
    assert public_push_service(endpoint)


@pytest.mark.parametrize("endpoint", [
    "http://fcm.googleapis.com/fcm/send/abc", "https://localhost/push", "https://127.0.0.1/push",
    "https://10.0.0.5/push", "https://192.168.1.1/push", "https://169.254.169.254/latest/meta-data",
    "https://[::1]/push", "https://[fd00::1]/push", "https://printer.local/push", "https://db.internal/x",
    "https://intranet/push", "ftp://example.org/push", "https:///push",
])  # fmt: skip
def test_private_or_plain_addresses_are_refused(endpoint: str) -> None:
    assert not public_push_service(endpoint)
