"""MjpegSink: a live preview over HTTP, the newest composited frame as multipart/x-mixed-replace JPEGs,
which any browser shows in an <img> and players (ffplay, VLC) open as a stream.

Loopback only: there is no token, so it refuses any other address, and it answers only requests whose
Host names the loopback (a web page cannot reach it through a rebound DNS name). Each viewer gets the
newest frame when it is ready for one and skips the rest, like every live path here; a slow viewer
never holds back the others or the relay.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

from ..errors import ConfigError, OutputError
from ..frame import Frame
from .rgb import output_rgb

log = logging.getLogger(__name__)

BOUNDARY = "livematte-frame"
MAX_VIEWERS = 8
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


class MjpegSink:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, width: int = 0, height: int = 0,
                 fps: float = 0.0, quality: int = 80) -> None:
        if not _is_loopback(host):
            raise ConfigError(f"MJPEG preview on {host!r}: it has no token, so it binds the loopback only "
                              "(127.0.0.1 or ::1)")
        self.width, self.height, self.fps, self.quality = width, height, fps, quality
        self.frames_written = 0
        self.warnings: list[str] = []
        self._jpeg: bytes | None = None
        self._closed = False
        self._changed = threading.Condition()
        self._viewers = 0
        try:
            self._server = _Server((host, port), _handler(self))
        except OSError as exc:
            raise OutputError(f"MJPEG preview on {host}:{port}: cannot listen: {exc}") from None
        self.port = self._server.server_address[1]
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="livematte-mjpeg", daemon=True)
        self._thread.start()
        log.info("MJPEG preview at %s", self.url)

    # -- the sink side ------------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        image = cv2.cvtColor(output_rgb(frame), cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OutputError(f"{self.url}: JPEG encoding failed for {frame.describe()}")
        with self._changed:
            self._jpeg = data.tobytes()
            self.frames_written += 1
            self._changed.notify_all()

    def close(self, complete: bool = True) -> None:
        """Ends every viewer's stream and stops listening."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> MjpegSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close(complete=exc[0] is None)

    # -- the viewer side ----------------------------------------------------------------------------
    def next_jpeg(self, seen: int) -> tuple[int, bytes] | None:
        """The newest JPEG once it is newer than frame number `seen`; None when the sink closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or (self._jpeg is not None and self.frames_written > seen))
            return None if self._closed else (self.frames_written, self._jpeg)

    def join_viewer(self) -> bool:
        with self._changed:
            if self._viewers >= MAX_VIEWERS:
                return False
            self._viewers += 1
            return True

    def leave_viewer(self) -> None:
        with self._changed:
            self._viewers -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def _handler(sink: MjpegSink):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "").rsplit(":", 1)[0]
            if host not in _LOOPBACK_NAMES:
                self.send_error(403, "this preview answers only to a loopback Host")
                return
            if self.path.split("?", 1)[0] != "/":
                self.send_error(404)
                return
            if not sink.join_viewer():
                self.send_error(503, f"{MAX_VIEWERS} viewers already")
                return
            try:
                self._stream()
            except (BrokenPipeError, ConnectionResetError):
                pass           # the viewer went away
            finally:
                sink.leave_viewer()

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = 0
            while (latest := sink.next_jpeg(seen)) is not None:
                seen, jpeg = latest
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                self.wfile.flush()
            self.wfile.write(f"--{BOUNDARY}--\r\n".encode())

        def log_message(self, format: str, *args) -> None:
            log.debug("mjpeg %s: " + format, self.address_string(), *args)

    return Handler


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
