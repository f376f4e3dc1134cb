"""Review findings against a real `livematte serve` over loopback, each failing before its fix."""
from __future__ import annotations

import json
import socket
import time

import pytest

from serve_process import Serve, request


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    server = Serve(tmp_path_factory.mktemp("serve"), toml='[background]\nspec = "color:#00B140"\n').wait_ready()
    yield server
    server.stop()


def test_a_settings_field_split_across_tcp_segments_arrives_whole(serve):
    # read_chunk gives what one read of the socket gave: `color:#123456` sent as `color:#12` + `3456` was
    # taken as `color:#12` (refused, or another colour).
    boundary = "review"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"background\"\r\n\r\ncolor:#123456\r\n"
            f"--{boundary}--\r\n").encode()
    cut = body.index(b"color:#12") + len(b"color:#12")
    with socket.create_connection(("127.0.0.1", serve.port), timeout=60) as conn:
        conn.sendall((f"POST /settings HTTP/1.1\r\nHost: 127.0.0.1:{serve.port}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body[:cut])
        time.sleep(0.5)           # the server reads the first segment on its own
        conn.sendall(body[cut:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    status, _, raw = request(serve.url + "/config")
    assert status == 200 and json.loads(raw)["background"] == "color:#123456"
