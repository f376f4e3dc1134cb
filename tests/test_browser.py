"""The page end to end in a real headless Chromium (Debian's, never a downloaded one) against
`livematte serve`.

Chromium's fake camera plays a .y4m made here from a real clip; the page sends it, the server mattes it
onto the colour picked on the page, and the test reads the received <video> back through a canvas.
"""
from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from conftest import REPO
from live_media import BLUE, GREEN, coloured, far_background, room_images

CHROMIUM = Path("/usr/bin/chromium")
SIZE = (320, 180)
DEADLINE_S = 90

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (.ci/run installs it with apt-get)")


def make_y4m(path: Path, images: list[np.ndarray], fps: int = 15) -> Path:
    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`livematte serve` as a user starts it, on a free local port."""
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below, after the process
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "livematte", "serve", "--port", str(port),
                             "--background", "color:#0000FF"], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + DEADLINE_S
    while True:
        try:
            urllib.request.urlopen(url + "/config", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                output = (tmp_path / "serve.log").read_text()
                raise AssertionError(f"livematte serve did not start:\n{output}") from None
            time.sleep(0.2)
    yield url
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


SNAPSHOT = """() => {
  const video = document.getElementById("video");
  if (!video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return canvas.toDataURL("image/png");
}"""


def received_frame(page) -> np.ndarray | None:
    data = page.evaluate(SNAPSHOT)
    if not data:
        return None
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB"))


def wait_for_colour(page, mask, colour) -> np.ndarray | None:
    end = time.monotonic() + DEADLINE_S
    frame = None
    while time.monotonic() < end:
        frame = received_frame(page)
        if frame is not None and coloured(frame, mask, colour):
            return frame
        page.wait_for_timeout(200)
    return frame


def test_page_sends_the_camera_and_shows_the_matte_with_the_chosen_colour(server, shared, engine, tmp_path,
                                                                          artifacts):
    from playwright.sync_api import sync_playwright

    images = room_images(shared, SIZE, 30)
    far = far_background(images, engine)
    assert far.mean() > 0.1 and not coloured(images[0], far, GREEN)
    y4m = make_y4m(tmp_path / "camera.y4m", images)
    args = ["--headless", "--no-sandbox", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as pw:
        # a fresh profile per run (--user-data-dir): nothing cached, nothing shared with another browser
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=args,
            viewport={"width": 1000, "height": 900})
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(server + "/")
            page.click("#connect")
            page.wait_for_function("window.livematte.peer && window.livematte.connected",
                                   timeout=DEADLINE_S * 1000)
            # the server started on blue; the matte arrives on blue
            blue = wait_for_colour(page, far, BLUE)
            assert blue is not None, "no video frame reached the page"
            assert blue.shape[:2] == (SIZE[1], SIZE[0])
            assert coloured(blue, far, BLUE), np.median(blue[far], axis=0)
            # the user picks a colour on the page; the running stream changes to it
            page.select_option("#background", "color")
            page.fill("#color", "#00ff00")
            page.click("#apply")
            green = wait_for_colour(page, far, GREEN)
            Image.fromarray(green).save(artifacts / "received_frame.png")
            assert coloured(green, far, GREEN), np.median(green[far], axis=0)
            assert page.text_content("#error") == ""
            page.wait_for_function("document.getElementById('stats').textContent.includes('latency p50')",
                                   timeout=DEADLINE_S * 1000)
            page.wait_for_timeout(1500)     # one more stats refresh, so the screenshot shows live figures
            page.screenshot(path=str(artifacts / "page.png"))
            stats = page.text_content("#stats")
            assert "fps" in stats and "server matte" in stats
        finally:
            context.close()
