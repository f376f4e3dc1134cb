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
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import Config, merge
from ..errors import ConfigError, LivematteError
from ..live import LiveProcessor
from .feed import SourceFeed
from .guard import access_token, guard_middleware, require_type
from .settings import check_offer, client_changes, public_background, read_fields
from .uploads import UploadError, Uploads

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
MAX_BODY = 1024 * 1024        # JSON bodies (an SDP offer is a few kB); uploads stream, within their own limit


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
        self.settings_lock = asyncio.Lock()   # one settings change or upload decode at a time: one image
        self.uploads = Uploads(config.live.max_upload_bytes, config.input.max_pixels, self.settings_lock)
        self._timeouts: set[asyncio.Task] = set()

    # -- peers ------------------------------------------------------------------------------------
    async def open_peer(self, offer: dict[str, Any]) -> tuple[Peer, Any]:
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        mode = offer["mode"]      # checked by settings.check_offer
        if mode == "source" and self.feed is None:
            raise ConfigError("mode 'source': this server was started without --source")
        # An empty list, never None: aiortc falls back to a public Google STUN server on None.
        ice = [RTCIceServer(urls=url) for url in self.config.live.ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice))
        # the id is what /settings needs to reach a peer: unguessable, and never listed
        peer = Peer(id=secrets.token_urlsafe(16), mode=mode, pc=pc)
        self.peers[peer.id] = peer    # the slot is taken now; any failure below frees it
        try:
            await self._set_up(peer, offer)
        except BaseException:
            await self.close_peer(peer)
            raise
        task = asyncio.create_task(self._close_unless_connected(peer))
        self._timeouts.add(task)
        task.add_done_callback(self._timeouts.discard)
        return peer, pc.localDescription

    async def _set_up(self, peer: Peer, offer: dict[str, str]) -> None:
        from aiortc import RTCSessionDescription

        from ..sinks.webrtc import MatteTrack, RemoteMatte

        pc, mode = peer.pc, peer.mode

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
        except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:   # aiortc's SDP parser
            raise ConfigError(f"sdp: not a usable offer: {exc}") from None
        if mode == "camera" and peer.pump is None:
            raise ConfigError("sdp: mode 'camera' needs a video track from the browser in the offer")
        await pc.setLocalDescription(await pc.createAnswer())

    async def _close_unless_connected(self, peer: Peer) -> None:
        """A peer that got its answer but never connects (no ICE candidates, an abandoned tab) gives its
        slot back after [live] connect_timeout_s."""
        timeout = self.config.live.connect_timeout_s
        await asyncio.sleep(timeout)
        if not peer.closed and peer.pc.connectionState != "connected":
            log.warning("peer %s: not connected %.0f s after its answer ([live] connect_timeout_s); closed",
                        peer.id, timeout)
            await self.close_peer(peer)

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
        self.collect_uploads()
        log.info("peer %s closed; %d left", peer.id, len(self.peers))

    async def close(self) -> None:
        for task in list(self._timeouts):
            task.cancel()
        await asyncio.gather(*(self.close_peer(p) for p in list(self.peers.values())))
        if self.feed is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.feed.close)
        self.uploads.close()

    def collect_uploads(self) -> None:
        """Delete the uploaded images that no background uses any more."""
        in_use = {self.config.background.spec}
        in_use.update(p.processor.config.background.spec for p in self.peers.values() if p.processor is not None)
        self.uploads.collect(in_use)

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
        from ..stages.composite import Composite

        Composite.from_config(config)     # a bad background fails here, even with nobody watching
        if self.feed is not None:
            self.feed.set_config(config)
        self.config = config
        return config

    # -- stats ------------------------------------------------------------------------------------
    def stats(self, peer_id: str | None = None) -> dict[str, Any]:
        # listed by number, never by id: an id is what it takes to change that peer's settings
        cameras = [p.processor for p in self.peers.values() if p.processor is not None]
        processors = {f"camera {n}": proc for n, proc in enumerate(cameras, 1)}
        if self.feed is not None and self.feed.processor is not None:
            processors["source"] = self.feed.processor
        body: dict[str, Any] = {
            "peers": len(self.peers),
            "max_peers": self.config.live.max_peers,
            "processors": {name: self._snapshot(proc) for name, proc in processors.items()},
        }
        peer = self.peers.get(peer_id) if peer_id else None
        if peer is not None:
            mine = peer.processor or (self.feed.processor if self.feed else None)
            if mine is not None:
                body.update(self._snapshot(mine))
        return body

    def _snapshot(self, processor: LiveProcessor) -> dict[str, Any]:
        snapshot = processor.snapshot()      # a background as a client may see it: no server path
        snapshot["background"] = public_background(snapshot["background"], self.uploads)
        return snapshot


# -- HTTP handlers --------------------------------------------------------------------------------
SERVICE = web.AppKey("service", LiveService)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def offer(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if refused := require_type(request, "application/json"):
        return refused
    try:
        body = check_offer(await request.json())
    except LivematteError as exc:
        return _error(400, str(exc))
    except ValueError:
        return _error(400, "POST /offer: expected JSON {sdp, type: 'offer', mode: 'camera'|'source'}")
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
    if refused := require_type(request, "application/json", "multipart/form-data"):
        return refused
    fields: dict[str, Any] = {}
    upload_id = None
    try:
        fields, upload_id = await read_fields(request, service.uploads)
        changes = client_changes(fields, service.uploads)
        async with service.settings_lock:
            # off the loop: building a background may read and scale an image
            config = await asyncio.get_running_loop().run_in_executor(
                None, service.apply, changes, fields.get("peer") or None)
    except UploadError as exc:
        return _error(exc.status, str(exc))
    except KeyError:
        return _error(404, f"POST /settings: no peer {str(fields.get('peer'))[:40]!r}")
    except LivematteError as exc:
        return _error(400, str(exc))
    finally:
        if upload_id is not None:
            service.uploads.settled(upload_id)
        service.collect_uploads()      # refused or replaced: keep no file that no background uses
    return web.json_response({"background": public_background(config.background.spec, service.uploads),
                              "shadow": config.shadow.kind})


async def client_config(request: web.Request) -> web.Response:
    """What the page needs before it connects: ICE servers from [live] ice_servers, the modes offered,
    the background menu (from the kinds in stages/backgrounds/) and the background the server uses (so that
    the menu shows it)."""
    from ..stages.backgrounds import menu

    service = request.app[SERVICE]
    return web.json_response({"ice_servers": list(service.config.live.ice_servers), "backgrounds": menu(),
                              "source": service.feed is not None, "max_peers": service.config.live.max_peers,
                              "background": public_background(service.config.background.spec, service.uploads)})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVICE].stats(request.query.get("peer")))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def create_app(config: Config, engine, source: str | None = None) -> web.Application:
    token = access_token(config.live.token, config.live.host)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[
        guard_middleware(token, config.live.host, config.live.allowed_hosts)])
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
