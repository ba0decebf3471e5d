"""Where the server may post Web Push messages: a browser's push service, never a machine inside our own network.

A push subscription is an address the browser hands us and the server later posts to, so whoever can subscribe
chooses where the server connects (SSRF). In production three checks stand between an endpoint and a connection:

1. The host must be one of the push services browsers use (FCM for Chrome, Edge's WNS, Mozilla autopush, Apple web
   push) or one the operator names in SPASM_PUSH_ALLOWED_HOSTS. Browsers only ever hand out those, so the list costs
   nothing, and it shuts out every numeric spelling of an address at once (``127.1``, ``0x7f.1``, ``0177.0.0.1``,
   ``10.1``), which the system resolver would happily accept and an ``ipaddress`` check does not recognise.
2. Every address the name resolves to must be public: an allowed name could still be made to point inward (a
   misconfigured operator entry, a poisoned resolver).
3. The resolution is done again right before each send, and the connection goes to the address that was just checked,
   not to whatever a second look-up inside the HTTP client would answer. A name that resolves to a public address
   when checked and to 127.0.0.1 a moment later (DNS rebinding) therefore never gets a connection to 127.0.0.1. TLS
   still verifies the certificate against the host name, so pinning the address loses nothing.

Outside production (a laptop, the tests' push receiver on 127.0.0.1) only the last step runs: the name is resolved
once and the connection pinned to that address, so that the same sending code is exercised everywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

# Host suffixes of the push services browsers subscribe to (a name matches itself and any name below it).
KNOWN_PUSH_SERVICES = (
    "fcm.googleapis.com",  # Chrome, Opera, Samsung Internet and other Chromium browsers
    "push.services.mozilla.com",  # Firefox (updates.push.services.mozilla.com)
    "web.push.apple.com",  # Safari on macOS and iOS
    "notify.windows.com",  # Edge (Windows Push Notification Services, *.notify.windows.com)
)
Resolver = Callable[[str, int], Awaitable[list[str]]]
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The WHATWG URL parser (and the C resolver) read a host whose last label is a number as an IPv4 address.
_NUMERIC = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


@dataclass(frozen=True)
class PushTarget:
    """An endpoint that passed the checks, with the address the connection must go to."""

    url: str
    host: str
    port: int
    address: str


class Refused(Exception):
    """The endpoint must not be posted to; the message says why, in words for the subscriber."""


async def system_resolver(host: str, port: int) -> list[str]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def allowed_hosts(extra: Iterable[str]) -> tuple[str, ...]:
    return KNOWN_PUSH_SERVICES + tuple(h.strip().lower().strip(".") for h in extra if h.strip(" ."))


def _host_name(host: str) -> str:
    """The host as a plain DNS name (lower case, no trailing dot), or Refused for anything else: an address literal,
    a number, a name that is not ASCII letters, digits and hyphens."""
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise Refused("must name a push service by its host name")
    if _NUMERIC.match(labels[-1]):
        raise Refused("must name a push service by its host name, not by an address")
    return name


def _parts(endpoint: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise Refused("is not a valid address") from exc
    if parts.scheme not in {"https", "http"} or not parts.hostname or "@" in parts.netloc or "\\" in endpoint:
        raise Refused("is not a valid address")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_policy(endpoint: str, hosts: tuple[str, ...]) -> tuple[str, int]:
    """Checks 1: https, the default port, an allowed push service by name. Answers (host, port)."""
    scheme, raw_host, port = _parts(endpoint)
    if scheme != "https" or port != 443:
        raise Refused("must be the https address of a push service")
    host = _host_name(raw_host)
    if not any(host == allowed or host.endswith("." + allowed) for allowed in hosts):
        raise Refused("is not a push service this server sends to")
    return host, port


def allowed(endpoint: str, hosts: tuple[str, ...]) -> bool:
    try:
        check_policy(endpoint, hosts)
    except Refused:
        return False
    return True


def public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def target(endpoint: str, *, production: bool, hosts: tuple[str, ...], resolver: Resolver) -> PushTarget:
    """The checked target of an endpoint, resolved now; Refused when it must not be posted to."""
    if production:
        host, port = check_policy(endpoint, hosts)
    else:
        _, host, port = _parts(endpoint)
    addresses = await resolver(host, port)
    if not addresses:
        raise Refused("does not resolve to an address")
    if production and not all(public(a) for a in addresses):
        raise Refused("resolves to an address inside a private network")
    return PushTarget(url=endpoint, host=host, port=port, address=addresses[0])


class PinnedAdapter(HTTPAdapter):
    """Connects to one checked address whatever the URL's host would resolve to now, sending the URL's host name as
    Host and as the TLS server name, and checking the certificate against that name."""

    def __init__(self, pinned: PushTarget) -> None:
        self.pinned = pinned
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = self.pinned.address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self.pinned.host
            pool_kwargs["assert_hostname"] = self.pinned.host
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        default = 443 if (request.url or "").startswith("https:") else 80
        port = "" if self.pinned.port == default else f":{self.pinned.port}"
        request.headers["Host"] = f"{self.pinned.host}{port}"
        return super().send(request, *args, **kwargs)


def pinned_session(pinned: PushTarget) -> requests.Session:
    """A session that can reach only the checked address: no proxy from the environment (it would make its own
    look-up), and no redirect (a push service has no reason to send one, and it would lead anywhere)."""
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = 0
    adapter = PinnedAdapter(pinned)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
