"""Two real aiortc peers over loopback against the real aiohttp app: frames go in, matted frames come back."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

from live_media import BLUE, GREEN, coloured, person_core, room_images
from live_media import far_background as background_mask
from livematte.config import load_config
from livematte.server.app import SERVICE, create_app
from media import make_clip

SIZE = (320, 180)
DEADLINE_S = 60       # generous: only a hang reaches it; the assertions are about content, not speed


@pytest.fixture(scope="module")
def clip_images(shared):
    return room_images(shared, SIZE)


@pytest.fixture(scope="module")
def far_background(clip_images, engine):
    far = background_mask(clip_images, engine)
    assert far.mean() > 0.1, "the clip should have plenty of plain background"
    return far


class ClipTrack(VideoStreamTrack):
    """A camera stand-in: loops real frames at 30 fps."""

    def __init__(self, images):
        super().__init__()
        self._images, self._i = images, 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame.from_ndarray(self._images[self._i % len(self._images)], format="rgb24")
        self._i += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class Viewer:
    """The browser's side, in Python: one RTCPeerConnection that keeps the frames it receives."""

    def __init__(self, send=None):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))   # [] not None: no public STUN
        self.frames: list[np.ndarray] = []
        self._tasks: list[asyncio.Task] = []
        if send is not None:
            self.pc.addTrack(send)
        else:
            self.pc.addTransceiver("video", direction="recvonly")

        @self.pc.on("track")
        def on_track(track):
            self._tasks.append(asyncio.ensure_future(self._collect(track)))

    async def _collect(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames.append(frame.to_ndarray(format="rgb24"))

    async def connect(self, client: TestClient, mode: str):
        await self.pc.setLocalDescription(await self.pc.createOffer())
        response = await client.post("/offer", json={"sdp": self.pc.localDescription.sdp,
                                                     "type": self.pc.localDescription.type, "mode": mode})
        body = await response.json()
        if response.status != 200:
            return response.status, body
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type=body["type"]))
        return response.status, body

    async def wait_for(self, predicate):
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            if self.frames and predicate(self.frames[-1]):
                return self.frames[-1]
            await asyncio.sleep(0.05)
        return self.frames[-1] if self.frames else None

    async def close(self):
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def live_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("livematte-"))


async def _wait_until(condition):
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end and not condition():   # noqa: ASYNC110 - polls threads, not a coroutine
        await asyncio.sleep(0.05)


def _config(background, **live):
    return load_config(None, {"background": {"spec": background}, "live": live})


def test_camera_mode_mattes_frames_and_swaps_background_at_run_time(engine, clip_images, far_background):
    async def scenario():
        app = create_app(_config("color:#0000FF"), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            baseline = live_threads()
            viewer = Viewer(send=ClipTrack(clip_images))
            status, body = await viewer.connect(client, "camera")
            assert status == 200, body
            blue = await viewer.wait_for(lambda f: coloured(f, far_background, BLUE))
            assert blue is not None and blue.shape[:2] == (SIZE[1], SIZE[0])
            assert coloured(blue, far_background, BLUE), np.median(blue[far_background], axis=0)
            # the original background is not blue or green: the colour came from compositing
            assert not coloured(clip_images[0], far_background, BLUE)
            assert not coloured(clip_images[0], far_background, GREEN)

            change = {"peer": body["peer"], "background": "color:#00FF00"}
            response = await client.post("/settings", json=change)
            assert response.status == 200, await response.text()
            green = await viewer.wait_for(lambda f: coloured(f, far_background, GREEN))
            assert coloured(green, far_background, GREEN), np.median(green[far_background], axis=0)
            # the people themselves come back in their own colours
            person = person_core(clip_images, engine)
            assert person.sum() > 100 and not coloured(green, person, GREEN, tolerance=80)

            stats = await (await client.get("/stats", params={"peer": body["peer"]})).json()
            assert stats["peers"] == 1 and stats["frames_out"] > 0 and stats["latency_ms"]["p95"] > 0
            assert stats["background"] == "color:#00FF00"
            assert live_threads() != baseline        # this peer's processor thread is running

            # the peer leaves: its processor thread, tracks and pump go away
            await viewer.close()
            service = app[SERVICE]
            await _wait_until(lambda: not service.peers and live_threads() == baseline)
            assert service.peers == {}
            assert live_threads() == baseline

    asyncio.run(scenario())


def test_bad_settings_are_rejected_and_the_stream_keeps_its_background(engine):
    async def scenario():
        app = create_app(_config("color:#0000FF"), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            bad = {"background": "color:#00FF00", "shadow": "sideways"}
            response = await client.post("/settings", json=bad)
            assert response.status == 400
            assert "shadow" in (await response.json())["error"]
            response = await client.post("/settings", json={"peer": "nobody", "background": "color:#00FF00"})
            assert response.status == 404
            assert app[SERVICE].config.background.spec == "color:#0000FF"

    asyncio.run(scenario())


def test_the_page_menu_and_the_settings_check_come_from_the_background_kinds(engine):
    async def scenario():
        app = create_app(_config("color:#0000FF"), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            menu = (await (await client.get("/config")).json())["backgrounds"]
            assert {"value": "checkerboard", "label": "checkerboard", "input": ""} in menu
            response = await client.post("/settings", json={"background": "sepia"})
            assert response.status == 400 and "'sepia'" in (await response.json())["error"]
            response = await client.post("/settings", json={"background": "checkerboard"})
            assert response.status == 200 and app[SERVICE].config.background.spec == "checkerboard"

    asyncio.run(scenario())


def test_source_mode_round_trip_shared_by_viewers(engine, shared, tmp_path, far_background):
    clip = make_clip(tmp_path / "room.mp4", frames=8, size=SIZE, fps=30,
                     source=shared / "testdata/videos/room_two_people_1080p.mp4")

    async def scenario():
        app = create_app(_config("color:#00FF00"), engine, source=str(clip))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            baseline = live_threads()
            viewers = [Viewer(), Viewer()]
            for viewer in viewers:
                status, body = await viewer.connect(client, "source")
                assert status == 200, body
            for viewer in viewers:
                frame = await viewer.wait_for(lambda f: coloured(f, far_background, GREEN))
                assert coloured(frame, far_background, GREEN)
            feed = app[SERVICE].feed
            assert feed.running
            stats = await (await client.get("/stats")).json()
            assert stats["peers"] == 2 and list(stats["processors"]) == ["source"]   # one processor, shared
            for viewer in viewers:
                await viewer.close()
            await _wait_until(lambda: not app[SERVICE].peers and not feed.running
                              and live_threads() == baseline)
            assert not feed.running and live_threads() == baseline

    asyncio.run(scenario())


def test_peer_limit_answers_503_with_a_reason(engine, clip_images):
    async def scenario():
        app = create_app(_config("color:#00FF00", max_peers=1), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            baseline = live_threads()
            first, second = Viewer(send=ClipTrack(clip_images)), Viewer(send=ClipTrack(clip_images))
            status, _ = await first.connect(client, "camera")
            assert status == 200
            status, body = await second.connect(client, "camera")
            assert status == 503
            assert "max_peers = 1" in body["error"]
            await second.close()
            assert len(app[SERVICE].peers) == 1
        # the server shut down with `first` still connected: on_shutdown closed it and its processor
        assert app[SERVICE].peers == {}
        await _wait_until(lambda: live_threads() == baseline)
        assert live_threads() == baseline
        await first.close()

    asyncio.run(scenario())


def test_source_mode_without_a_source_is_a_clear_400(engine):
    async def scenario():
        app = create_app(_config("color:#00FF00"), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            viewer = Viewer()
            status, body = await viewer.connect(client, "source")
            await viewer.close()
            assert status == 400 and "--source" in body["error"]

    asyncio.run(scenario())


def uploaded_files(app) -> list[Path]:
    return sorted(app[SERVICE].uploads.folder.iterdir())


def test_uploaded_background_image_is_kept_server_side_and_bad_uploads_are_refused(engine, tmp_path):
    import io

    from aiohttp import FormData
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 36), (255, 0, 0)).save(png, format="PNG")

    async def scenario():
        app = create_app(_config("color:#0000FF"), engine)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            form = FormData()
            form.add_field("image", b"#!/bin/sh\n", filename="evil.sh", content_type="text/x-sh")
            response = await client.post("/settings", data=form)
            assert response.status == 400 and "PNG, JPEG or WebP" in (await response.json())["error"]
            assert uploaded_files(app) == []

            form = FormData()
            form.add_field("image", png.getvalue(), filename="red.png", content_type="image/png")
            form.add_field("shadow", "none")
            response = await client.post("/settings", data=form)
            body = await response.json()
            saved = uploaded_files(app)
            # the background became that image, kept server-side; where image backgrounds are not
            # available the refusal names it and no file is left behind
            if response.status == 200:
                assert len(saved) == 1 and saved[0].read_bytes() == png.getvalue()
                assert body["background"] == f"upload:{saved[0].stem}"     # by id: no server path
            else:
                assert response.status == 400 and "image:" in body["error"] and saved == []
        assert not app[SERVICE].uploads.folder.exists()      # noqa: ASYNC240 - shutdown removed uploads

    asyncio.run(scenario())
