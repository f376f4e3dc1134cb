"""The aiohttp app of `livematte serve`: the page, HTTP signalling (/offer), run-time settings,
stats, and the lifetime of every peer (closed when it goes away and on shutdown).

Two modes per peer, chosen by the page in its offer:
  camera  the browser sends its camera; this peer gets its own LiveProcessor and sees its matte back.
  source  the browser only receives; every such peer watches the one shared server-side source.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import Config, merge
from ..errors import ConfigError, LivematteError
from ..live import LiveProcessor
from .feed import SourceFeed

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
MAX_UPLOAD = 20 * 1024 * 1024
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


@dataclasses.dataclass
class Peer:
    id: str
    mode: str
    pc: Any                                  # aiortc RTCPeerConnection
    processor: LiveProcessor | None = None   # own processor (camera mode); None when watching the source
    pump: Any = None                         # sinks.webrtc.RemoteMatte (camera mode)
    tracks: list = dataclasses.field(default_factory=list)
    closed: bool = False


class LiveService:
    """Everything `serve` holds: config, the one engine, the peers and the shared source."""

    def __init__(self, config: Config, engine, source: str | None = None) -> None:
        self.config = config
        self.engine = engine
        self.peers: dict[str, Peer] = {}
        self.feed = None
        if source:
            self.feed = SourceFeed(source, lambda: LiveProcessor(self.config, engine, name="source"),
                                   config.input.source_options())
        self._uploads = tempfile.TemporaryDirectory(prefix="livematte-uploads-")

    # -- peers ------------------------------------------------------------------------------------
    async def open_peer(self, offer: dict[str, Any]) -> tuple[Peer, Any]:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

        from ..sinks.webrtc import MatteTrack, RemoteMatte

        mode = offer.get("mode", "camera")
        if mode == "source" and self.feed is None:
            raise ConfigError("mode 'source': this server was started without --source")
        # An empty list, never None: aiortc falls back to a public Google STUN server on None.
        ice = [RTCIceServer(urls=url) for url in self.config.live.ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice))
        peer = Peer(id=uuid.uuid4().hex[:12], mode=mode, pc=pc)
        self.peers[peer.id] = peer

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            log.info("peer %s: connection %s", peer.id, pc.connectionState)
            if pc.connectionState in ("failed", "closed"):
                await self.close_peer(peer)

        if mode == "camera":
            peer.processor = LiveProcessor(self.config, self.engine, name=f"peer-{peer.id}")

            @pc.on("track")
            def on_track(track) -> None:
                if track.kind != "video" or peer.pump is not None:
                    return
                peer.pump = RemoteMatte(track, peer.processor, origin=f"peer {peer.id}")
                out = MatteTrack(peer.processor)
                peer.tracks.append(out)
                pc.addTrack(out)
        else:
            processor = self.feed.attach()
            out = MatteTrack(processor, on_stop=self.feed.detach)
            peer.tracks.append(out)
            pc.addTrack(out)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
            if mode == "camera" and peer.pump is None:
                raise ConfigError("offer: mode 'camera' needs a video track from the browser")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await self.close_peer(peer)
            raise
        return peer, pc.localDescription

    async def close_peer(self, peer: Peer) -> None:
        """Free what a peer used: its pump, tracks, processor thread, and the connection."""
        if peer.closed:
            return
        peer.closed = True
        self.peers.pop(peer.id, None)
        if peer.pump is not None:
            await peer.pump.stop()
        for track in peer.tracks:
            track.stop()
        if peer.processor is not None:
            await asyncio.get_running_loop().run_in_executor(None, peer.processor.close)
        await peer.pc.close()
        log.info("peer %s closed; %d left", peer.id, len(self.peers))

    async def close(self) -> None:
        await asyncio.gather(*(self.close_peer(p) for p in list(self.peers.values())))
        if self.feed is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.feed.close)
        self._uploads.cleanup()

    # -- settings ---------------------------------------------------------------------------------
    def apply(self, changes: dict[str, dict[str, Any]], peer_id: str | None) -> Config:
        """Apply background/shadow changes to one camera peer, or to the server (defaults + source)."""
        peer = self.peers.get(peer_id) if peer_id else None
        if peer_id and peer is None:
            raise KeyError(peer_id)
        if peer is not None and peer.processor is not None:
            config = merge(peer.processor.config, changes, "POST /settings")
            peer.processor.set_config(config)
            return config
        config = merge(self.config, changes, "POST /settings")
        if self.feed is not None:
            self.feed.set_config(config)
        self.config = config
        return config

    def save_upload(self, data: bytes, content_type: str, filename: str) -> Path:
        suffix = IMAGE_TYPES.get(content_type) or Path(filename).suffix.lower()
        if suffix not in IMAGE_TYPES.values():
            raise ConfigError(f"uploaded background {filename!r}: expected a PNG, JPEG or WebP image")
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=self._uploads.name)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return Path(tmp)

    # -- stats ------------------------------------------------------------------------------------
    def stats(self, peer_id: str | None = None) -> dict[str, Any]:
        processors = {p.id: p.processor for p in self.peers.values() if p.processor is not None}
        if self.feed is not None and self.feed.processor is not None:
            processors["source"] = self.feed.processor
        body: dict[str, Any] = {
            "peers": len(self.peers),
            "max_peers": self.config.live.max_peers,
            "processors": {name: proc.snapshot() for name, proc in processors.items()},
        }
        peer = self.peers.get(peer_id) if peer_id else None
        if peer is not None:
            mine = peer.processor or (self.feed.processor if self.feed else None)
            if mine is not None:
                body.update(mine.snapshot())
        return body


# -- HTTP handlers --------------------------------------------------------------------------------
SERVICE = web.AppKey("service", LiveService)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def offer(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        body = await request.json()
        body["sdp"], body["type"]
    except (ValueError, KeyError, TypeError):
        return _error(400, "POST /offer: expected JSON {sdp, type, mode: 'camera'|'source'}")
    limit = service.config.live.max_peers
    if len(service.peers) >= limit:
        return _error(503, f"server full: {len(service.peers)} of live.max_peers = {limit} peers connected; "
                           "try again when one leaves")
    try:
        peer, answer = await service.open_peer(body)
    except LivematteError as exc:
        return _error(400, str(exc))
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "peer": peer.id, "mode": peer.mode})


async def settings(request: web.Request) -> web.Response:
    """Background and shadow, as JSON or a multipart form (with an uploaded image as `image`)."""
    service = request.app[SERVICE]
    fields: dict[str, Any] = {}
    upload: Path | None = None
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if part.name == "image" and part.filename:
                data = await part.read()
                if not data:
                    continue
                try:
                    upload = await asyncio.get_running_loop().run_in_executor(
                        None, service.save_upload, data, part.headers.get("Content-Type", ""), part.filename)
                except ConfigError as exc:
                    return _error(400, str(exc))
                fields["background"] = f"image:{upload}"
            elif part.name:
                fields[part.name] = (await part.text()).strip()
    elif request.content_type == "application/x-www-form-urlencoded":
        fields = {k: str(v).strip() for k, v in (await request.post()).items()}
    else:
        try:
            fields = await request.json()
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            return _error(400, "POST /settings: expected a JSON object or a form")
    changes: dict[str, dict[str, Any]] = {}
    if fields.get("background"):
        changes["background"] = {"spec": fields["background"]}
    if fields.get("shadow"):
        changes["shadow"] = {"kind": fields["shadow"]}
    if not changes:
        return _error(400, "POST /settings: nothing to change; send background and/or shadow")
    try:
        # off the loop: building a background may read and scale an image
        config = await asyncio.get_running_loop().run_in_executor(
            None, service.apply, changes, fields.get("peer") or None)
    except (KeyError, LivematteError) as exc:
        if upload is not None:      # refused: keep no file that no background uses
            upload.unlink(missing_ok=True)
        if isinstance(exc, KeyError):
            return _error(404, f"POST /settings: no peer {fields.get('peer')!r}")
        return _error(400, str(exc))
    return web.json_response({"background": config.background.spec, "shadow": config.shadow.kind})


async def client_config(request: web.Request) -> web.Response:
    """What the page needs before it connects: ICE servers from [live] ice_servers, the modes offered
    and the background menu (from the kinds in stages/backgrounds/)."""
    from ..stages.backgrounds import menu

    service = request.app[SERVICE]
    return web.json_response({"ice_servers": list(service.config.live.ice_servers), "backgrounds": menu(),
                              "source": service.feed is not None, "max_peers": service.config.live.max_peers})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVICE].stats(request.query.get("peer")))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def create_app(config: Config, engine, source: str | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD)
    service = LiveService(config, engine, source)
    app[SERVICE] = service
    app.router.add_get("/", index)
    app.router.add_post("/offer", offer)
    app.router.add_post("/settings", settings)
    app.router.add_get("/stats", stats)
    app.router.add_get("/config", client_config)

    async def on_shutdown(app: web.Application) -> None:
        await service.close()

    app.on_shutdown.append(on_shutdown)
    return app
