"""Who may talk to `livematte serve`: the Host and Origin checks, the access token, and the content types.

Every request passes one middleware, in this order:
  Host    a host name the server answers to: an IP address, localhost, the address it listens on, or one
          of [live] allowed_hosts. DNS rebinding needs a name the attacker controls, so only names are
          ever refused.
  Origin  a browser's request from another origin (another site, or this host on another port) is
          refused: Sec-Fetch-Site must be same-origin or none, and an Origin header must be this origin.
          No CORS headers are ever sent, so no other origin can read an answer either.
  token   when one is set ([live] token or $LIVEMATTE_TOKEN), every request but the page itself needs
          `Authorization: Bearer TOKEN`; a missing or wrong one gets 401. The page asks for it once and
          keeps it in sessionStorage. An address other than loopback without a token does not start.
"""
from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web

from ..errors import ConfigError

PUBLIC_PATHS = frozenset({"/"})       # the page: static, holds nothing secret, and asks for the token
LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_token(config_token: str, host: str) -> str:
    """The token to require: $LIVEMATTE_TOKEN over [live] token. Raises ConfigError for an address that
    other machines can reach when there is none."""
    token = os.environ.get("LIVEMATTE_TOKEN", "") or config_token
    if token and len(token) < 16:
        raise ConfigError("LIVEMATTE_TOKEN: expected at least 16 characters")
    if not token and not is_loopback(host):
        raise ConfigError(
            f"serve: host {host!r} is reachable from other machines, so it needs an access token: set "
            "[live] token or $LIVEMATTE_TOKEN (at least 16 characters), or listen on 127.0.0.1")
    return token


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The name part of a Host header: 'Example.org:8080' -> 'example.org', '[::1]:80' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def guard_middleware(token: str, bind_host: str, allowed_hosts: Iterable[str]):
    allowed = {name.lower() for name in allowed_hosts} | LOOPBACK_NAMES | {bind_host.lower()}
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def guard(request: web.Request, handler):
        name = _host_name(request.host or "")
        if not name or not (_is_ip(name) or name in allowed):
            return _refuse(403, f"Host {request.host!r} is not a name this server answers to; "
                                "add it to [live] allowed_hosts if it should be")
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        page = request.method == "GET" and request.path in PUBLIC_PATHS   # a link to the page may come from anywhere
        if not page and site not in (None, "same-origin", "none") or (
                origin is not None and not _same_origin(origin, request)):
            return _refuse(403, f"requests from another origin ({origin or site}) are refused")
        if token and request.path not in PUBLIC_PATHS:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return _refuse(401, "this server needs its access token: Authorization: Bearer TOKEN",
                               **{"WWW-Authenticate": 'Bearer realm="livematte"'})
        return await handler(request)

    return guard


def _same_origin(origin: str, request: web.Request) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc.lower() == (request.host or "").lower()


def require_type(request: web.Request, *types: str) -> web.Response | None:
    """415 unless the request's body is one of `types` (a form or text/plain from another page never is)."""
    if request.content_type in types:
        return None
    return _refuse(415, f"{request.method} {request.path}: Content-Type {request.content_type!r} is not accepted; "
                        f"expected {' or '.join(types)}")
