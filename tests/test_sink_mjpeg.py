"""The MJPEG preview: a real HTTP client reads multipart/x-mixed-replace JPEGs of the newest frames."""
from __future__ import annotations

import http.client
import threading

import cv2
import numpy as np
import pytest

from live_media import GREEN, ROOM, coloured, far_background, room_images
from livematte.config import load_config
from livematte.errors import ConfigError
from livematte.frame import Frame
from livematte.live import LiveProcessor
from livematte.relay import relay
from livematte.sinks import open_live_sink
from livematte.sinks.mjpeg import BOUNDARY, MjpegSink
from livematte.sources import open_source
from media import make_clip


def _frame(colour, index=0, size=(64, 48)) -> Frame:
    w, h = size
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = colour, 255
    rgba[: h // 2, :, 3] = 0                               # the top half transparent: shown over black
    return Frame(image=rgba[..., :3].copy(), output=rgba, index=index)


def _connect(sink: MjpegSink, host: str | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=30)
    connection.putrequest("GET", "/", skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    return connection.getresponse()


def _read_part(response: http.client.HTTPResponse) -> np.ndarray:
    """One part of the multipart stream, decoded; None at the closing boundary."""
    line = response.fp.readline().strip()
    if line == f"--{BOUNDARY}--".encode():
        return None
    assert line == f"--{BOUNDARY}".encode(), line
    headers = {}
    while (line := response.fp.readline().strip()):
        key, _, value = line.decode().partition(":")
        headers[key.lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    data = response.fp.read(int(headers["content-length"]))
    response.fp.readline()
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_a_viewer_sees_each_new_frame_and_the_end_of_the_stream():
    with MjpegSink() as sink:
        assert sink.url == f"http://127.0.0.1:{sink.port}/"
        sink.write(_frame((0, 200, 0)))
        response = _connect(sink)
        assert response.status == 200
        assert response.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        first = _read_part(response)
        assert first.shape == (48, 64, 3)
        assert np.abs(first[30:].astype(int) - (0, 200, 0)).max() <= 12   # the opaque half
        assert first[:20].max() <= 12                                      # transparent: over black
        sink.write(_frame((200, 0, 0), 1))
        second = _read_part(response)
        assert np.abs(second[30:].astype(int) - (200, 0, 0)).max() <= 12
        closer = threading.Timer(0.2, sink.close)
        closer.start()
        assert _read_part(response) is None                                # close ends the stream
        closer.join()
    assert sink.frames_written == 2


def test_only_loopback_binds_and_only_loopback_hosts_are_answered():
    with pytest.raises(ConfigError, match="loopback"):
        MjpegSink("0.0.0.0")
    with pytest.raises(ConfigError, match="expected vcam"):
        open_live_sink("rtmp://x", width=8, height=8, fps=1)
    with open_live_sink("http://127.0.0.1:0/", width=8, height=8, fps=1) as sink:
        assert isinstance(sink, MjpegSink)
        assert _connect(sink, host="attacker.example:80").status == 403
        assert _connect(sink, host=f"localhost:{sink.port}").status == 200


def test_the_camera_relay_drives_the_preview(shared, tmp_path, engine):
    size = (320, 180)
    clip = make_clip(tmp_path / "room.mp4", frames=10, size=size, fps=30, source=shared / ROOM)
    config = load_config(None, {"background": {"spec": "color:#00FF00"}})
    far = far_background(room_images(shared, size, 10), engine)
    seen: list[np.ndarray] = []
    with MjpegSink(width=size[0], height=size[1], fps=30) as sink:
        response = None

        def watch() -> None:
            nonlocal response
            response = _connect(sink)
            while (image := _read_part(response)) is not None and len(seen) < 3:
                seen.append(image)

        viewer = threading.Thread(target=watch)
        viewer.start()
        with open_source(str(clip)) as source, LiveProcessor(config, engine, name="mjpeg") as processor:
            report = relay(source, processor, sink, fps=30)
        sink.close()
        viewer.join(30)
    assert report.sent >= 8 and sink.frames_written == report.sent
    assert len(seen) >= 1 and seen[-1].shape == (180, 320, 3)
    assert coloured(seen[-1], far, GREEN)
