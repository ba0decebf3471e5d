"""Security headers on every response (ASVS 3.4; Litestar has no built-in middleware for them)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

# No inline script anywhere: every script is a file under /static, so 'self' is all the policy needs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


def security_headers(https: bool):  # type: ignore[no-untyped-def]
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = MutableScopeHeaders.from_message(message)
                    headers["Content-Security-Policy"] = CSP
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers["Referrer-Policy"] = "no-referrer"
                    headers["Permissions-Policy"] = PERMISSIONS
                    headers["X-Frame-Options"] = "DENY"
                    headers["Cross-Origin-Opener-Policy"] = "same-origin"
                    if https:
                        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
                    if "cache-control" not in headers:
                        headers["Cache-Control"] = "no-store"
                await send(message)

            await app(scope, receive, send_with_headers)

        return wrapped

    return middleware
