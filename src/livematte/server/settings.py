"""What a client may ask of `POST /settings`, checked before anything is built.

A background from the network is a kind from the registry (stages/backgrounds) that reads nothing, or an
uploaded image by its id: never a kind that takes a PATH (`image:PATH`, `video:PATH`: that would read any
file the server can read, or fetch any URL), whatever a config file may name.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..stages.backgrounds.clients import MAX_SPEC, client_spec
from .uploads import Uploads

FIELDS = frozenset({"peer", "background", "shadow"})


def client_background(value: Any, uploads: Uploads) -> str:
    """The config spec for a background a client asked for. ConfigError names the field otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"background = {str(value)[:MAX_SPEC]!r}: expected a string")
    text = value.strip()
    word, _, arg = text.partition(":")
    if word.lower() != "upload":
        return client_spec(text, also=" or an uploaded image (upload:ID)")
    if len(text) > MAX_SPEC:
        raise ConfigError(f"background = {text[:MAX_SPEC]!r}…: longer than any background a client may choose")
    return uploads.spec(arg)


def public_background(spec: str, uploads: Uploads) -> str:
    """A background as a client may see it: an upload by its id, a server-side file by its kind only."""
    kind = spec.partition(":")[0].strip().lower()
    if kind in ("image", "video"):
        return uploads.public(spec) or kind
    return spec


def client_changes(fields: dict[str, Any], uploads: Uploads) -> dict[str, dict[str, Any]]:
    """{section: {key: value}} for merge() from the fields of a request; ConfigError naming a bad field."""
    unknown = set(fields) - FIELDS
    if unknown:
        raise ConfigError(f"POST /settings: unknown field {sorted(unknown)[0]!r}; "
                          f"expected {', '.join(sorted(FIELDS))}")
    changes: dict[str, dict[str, Any]] = {}
    if fields.get("background"):
        changes["background"] = {"spec": client_background(fields["background"], uploads)}
    if fields.get("shadow"):
        if not isinstance(fields["shadow"], str):
            raise ConfigError(f"shadow = {fields['shadow']!r}: expected none, drop or contact")
        changes["shadow"] = {"kind": fields["shadow"]}
    if fields.get("peer") is not None and not isinstance(fields["peer"], str):
        raise ConfigError("peer: expected the peer id string /offer returned")
    if not changes:
        raise ConfigError("POST /settings: nothing to change; send background and/or shadow")
    return changes


def check_offer(body: Any) -> dict[str, str]:
    """The fields of a POST /offer body, each checked; ConfigError names the first bad one."""
    if not isinstance(body, dict):
        raise ConfigError("POST /offer: expected a JSON object {sdp, type, mode}")
    sdp, kind, mode = body.get("sdp"), body.get("type"), body.get("mode", "camera")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise ConfigError("sdp: expected the browser's SDP offer, a string starting with 'v=0'")
    if kind != "offer":
        raise ConfigError(f"type = {str(kind)[:20]!r}: expected 'offer'")
    if mode not in ("camera", "source"):
        raise ConfigError(f"mode = {str(mode)[:20]!r}: expected 'camera' or 'source'")
    return {"sdp": sdp, "type": kind, "mode": mode}


async def read_fields(request, uploads: Uploads) -> tuple[dict[str, Any], str | None]:
    """The fields of a POST /settings body (JSON, or multipart with the image as `image`), and the id of
    an image it uploaded (which then is the background). ConfigError/UploadError say what is wrong."""
    if request.content_type == "application/json":
        try:
            fields = await request.json()
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise ConfigError("POST /settings: expected a JSON object {peer, background, shadow}")
        return fields, None
    fields, upload_id = {}, None
    try:
        async for part in await request.multipart():
            if part.name == "image" and part.filename and upload_id is None:
                upload_id = await uploads.receive(part)
                fields["background"] = f"upload:{upload_id}"
            elif part.name in FIELDS and part.name not in fields:
                fields[part.name] = (await _read_text(part)).decode("utf-8", "replace").strip()
            else:
                raise ConfigError(f"POST /settings: unexpected form field {str(part.name)[:40]!r}")
    except BaseException:
        if upload_id is not None:
            uploads.settled(upload_id)
        raise
    return fields, upload_id


async def _read_text(part, limit: int = MAX_SPEC * 4) -> bytes:
    """A form field whole, up to `limit` bytes: one read_chunk gives only what one read of the socket
    gave, so a value split across TCP segments (`color:#00` + `b140`) arrived cut short."""
    text = b""
    while len(text) < limit and (chunk := await part.read_chunk(limit)):
        text += chunk
    return text[:limit]
