"""Who may call the API, and how often: bearer tokens, per-owner rate limits, and the local-only mode.

Every /v1/ request needs `Authorization: Bearer TOKEN` with a token from LIVEMATTE_API_TOKENS or
[service] tokens, compared in constant time. Jobs belong to the token that made them (stored as a hash
of it, never the token): another token gets 404 for them. `--no-auth` is allowed only on a loopback
address, and then the Host header must name that address and a browser Origin must be this server
(no DNS rebinding, no other web site posting to it from the user's browser).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac

from aiohttp import web

from ..errors import ConfigError
from ..server.guard import is_loopback


def owner_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:20]


def check_setup(host: str, tokens: list[str], no_auth: bool) -> None:
    if no_auth and not is_loopback(host):
        raise ConfigError(f"--no-auth is allowed on 127.0.0.1 only, not on {host}: set LIVEMATTE_API_TOKENS")
    if not no_auth and not tokens:
        raise ConfigError("no API tokens: set LIVEMATTE_API_TOKENS (comma-separated) or [service] tokens, "
                          "or pass --no-auth to serve 127.0.0.1 without them")


def error(status: int, message: str, field: str | None = None, headers: dict | None = None) -> web.Response:
    body = {"error": message} | ({"field": field} if field else {})
    return web.json_response(body, status=status, headers=headers)


def access_middleware(tokens: list[str], no_auth: bool, port: int, store, per_minute: int):
    expected = [t.encode() for t in tokens]
    local_hosts = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")}

    @web.middleware
    async def middleware(request: web.Request, handler):
        if no_auth:
            if request.host not in local_hosts:
                return error(421, f"Host {request.host!r} is not this local server", "Host")
            origin = request.headers.get("Origin")
            if origin is not None and origin.split("://", 1)[-1] not in local_hosts:
                return error(403, f"Origin {origin!r} may not call this local server", "Origin")
        if not request.path.startswith("/v1/"):
            return await handler(request)
        if no_auth:
            owner = "local"
        else:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            given = token.strip().encode()
            # Compared against every token, each in constant time: neither timing nor order says which matched.
            matched = [hmac.compare_digest(given, t) for t in expected]
            if scheme.lower() != "bearer" or not given or not any(matched):
                return error(401, "a valid bearer token is required", "Authorization",
                             {"WWW-Authenticate": 'Bearer realm="livematte"'})
            owner = owner_of(token.strip())
        wait = await asyncio.to_thread(store.hit_rate, owner, per_minute)
        if wait:
            return error(429, f"more than {per_minute} requests a minute; retry in {wait} s", None,
                         {"Retry-After": str(wait)})
        request["owner"] = owner
        return await handler(request)

    return middleware
