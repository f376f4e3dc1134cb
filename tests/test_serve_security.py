"""Issue 12, cases 1-4: real HTTP requests to a real `livematte serve` over loopback, as an attacker sends them.

One server (max_peers 2, connect_timeout_s 3) serves the cases that leave nothing behind; the token cases
start their own.
"""
from __future__ import annotations

import asyncio
import io
import json
import select
import socket
import struct
import time
import zlib

import pytest
from PIL import Image

from serve_process import Serve, request

DEADLINE_S = 60          # only a hang reaches it
SERVER_BACKGROUND = "color:#00B140"
TOML = f"""
[background]
spec = "{SERVER_BACKGROUND}"
[live]
max_peers = 2
connect_timeout_s = 3.0
max_upload_bytes = 2000000
"""


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    server = Serve(tmp_path_factory.mktemp("serve"), toml=TOML).wait_ready()
    yield server
    server.stop()


def post_json(server: Serve, path: str, body, content_type: str = "application/json", headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, _, raw = request(server.url + path, "POST", data, {"Content-Type": content_type, **(headers or {})})
    return status, _json(raw)


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return {"raw": raw.decode(errors="replace")}


def get_json(server: Serve, path: str):
    status, _, raw = request(server.url + path)
    return status, _json(raw)


def wait_until_no_peers(server: Serve) -> int:
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        peers = get_json(server, "/stats")[1]["peers"]
        if peers == 0:
            return 0
        time.sleep(0.2)
    return peers


def real_offer(without_candidates: bool = False) -> str:
    """An SDP offer from a real aiortc peer sending video (closed again: it never connects)."""
    from aiortc import RTCConfiguration, RTCPeerConnection, VideoStreamTrack

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(VideoStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(make())
    if without_candidates:
        sdp = "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith("a=candidate"))
    return sdp


# -- case 1: no server file, no URL; peer ids never listed -------------------------------------------
def test_a_client_cannot_name_a_server_file_or_url_as_background(serve, tmp_path):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (32, 32), (255, 0, 0)).save(secret)
    status, body = post_json(serve, "/settings", {"background": f"image:{secret}"})
    assert status == 400 and "files and URLs" in body["error"], body

    with socket.socket() as listener:        # where the server would fetch `video:URL` from
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        status, body = post_json(serve, "/settings",
                                 {"background": f"video:http://127.0.0.1:{port}/internal-admin?token=x"})
        assert status == 400 and "files and URLs" in body["error"], body
        assert select.select([listener], [], [], 0.5)[0] == [], "the server connected to a client's URL"
    assert get_json(serve, "/config")[1]["background"] == SERVER_BACKGROUND


def test_stats_never_lists_peer_ids(serve):
    assert wait_until_no_peers(serve) == 0
    status, answer = post_json(serve, "/offer", {"sdp": real_offer(), "type": "offer", "mode": "camera"})
    assert status == 200, answer
    assert len(answer["peer"]) >= 20        # unguessable
    status, stats = get_json(serve, "/stats")
    assert stats["peers"] == 1 and list(stats["processors"]) == ["camera 1"]
    assert answer["peer"] not in json.dumps(stats)


# -- cases 2 and 4: bad offers are 400 naming the field, and every failure frees its slot --------------
@pytest.mark.parametrize("body, content_type, status, named", [
    ({"sdp": "x", "type": "offer", "mode": "x"}, "text/plain", 415, "application/json"),
    ({"sdp": "x", "type": "offer", "mode": "x"}, "application/json", 400, "sdp"),
    ({"sdp": 1, "type": "offer"}, "application/json", 400, "sdp"),
    ({"sdp": "v=0\r\n", "type": "answer"}, "application/json", 400, "type"),
    ({"sdp": "v=0\r\n", "type": "offer", "mode": "x"}, "application/json", 400, "mode"),
    ({"sdp": "v=0\r\nthis is not sdp\r\n", "type": "offer"}, "application/json", 400, "sdp"),
    (b"{not json", "application/json", 400, "JSON"),
    ([1, 2], "application/json", 400, "JSON object"),
])
def test_a_bad_offer_is_refused_naming_the_field_and_takes_no_slot(serve, body, content_type, status, named):
    for _ in range(3):       # more than max_peers (2): a leak would fill the server
        got, answer = post_json(serve, "/offer", body, content_type)
        assert got == status and named in answer["error"], answer
    assert get_json(serve, "/stats")[1]["peers"] == 0 or wait_until_no_peers(serve) == 0


def test_refused_settings_then_offers_leak_no_slot(serve):
    assert wait_until_no_peers(serve) == 0
    for _ in range(3):
        assert post_json(serve, "/settings", {"background": "image:/etc/passwd"})[0] == 400
        assert post_json(serve, "/settings", {"background": "sideways"})[0] == 400
    offer = real_offer()
    for _ in range(2):
        status, answer = post_json(serve, "/offer", {"sdp": offer, "type": "offer", "mode": "camera"})
        assert status == 200, answer
    status, answer = post_json(serve, "/offer", {"sdp": offer, "type": "offer", "mode": "camera"})
    assert status == 503 and "max_peers = 2" in answer["error"]


def test_an_offer_that_never_connects_gives_its_slot_back(serve):
    assert wait_until_no_peers(serve) == 0
    for _ in range(2):
        status, answer = post_json(serve, "/offer", {"sdp": real_offer(without_candidates=True),
                                                     "type": "offer", "mode": "camera"})
        assert status == 200, answer
    assert get_json(serve, "/stats")[1]["peers"] == 2
    # nobody ever connects: after [live] connect_timeout_s (3 s here) both slots are free again
    assert wait_until_no_peers(serve) == 0
    assert "connect_timeout_s" in serve.log()


# -- case 3: Host, Origin, content types, no CORS ------------------------------------------------------
@pytest.mark.parametrize("headers, status", [
    ({"Host": "attacker.example:8080"}, 403),                    # DNS rebinding
    ({"Origin": "http://127.0.0.1:1"}, 403),                     # this host, another port
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),
])
def test_requests_from_another_origin_or_host_are_refused(serve, headers, status):
    got, body = post_json(serve, "/settings", {"background": "color:#FF0000"}, headers=headers)
    assert got == status, body
    got, _, _ = request(serve.url + "/stats", headers=headers)
    assert got == status
    assert get_json(serve, "/config")[1]["background"] == SERVER_BACKGROUND


@pytest.mark.parametrize("content_type, data", [
    ("text/plain", json.dumps({"background": "color:#FF0000"}).encode()),
    ("application/x-www-form-urlencoded", b"background=color%3A%23FF0000"),
])
def test_settings_take_only_json_or_multipart(serve, content_type, data):
    status, body = post_json(serve, "/settings", data, content_type)
    assert status == 415 and "multipart/form-data" in body["error"], body
    assert get_json(serve, "/config")[1]["background"] == SERVER_BACKGROUND


def test_no_cors_headers_are_ever_sent(serve):
    origin = {"Origin": serve.url}        # even to its own origin: no Access-Control-* at all
    for method, path in [("GET", "/stats"), ("GET", "/config"), ("OPTIONS", "/settings"), ("GET", "/")]:
        _, headers, _ = request(serve.url + path, method, headers={**origin, "Access-Control-Request-Method": "POST"})
        assert not [h for h in headers if h.lower().startswith("access-control-")], (path, dict(headers))


def test_serve_listens_on_loopback_by_default_and_says_so(serve):
    assert "listening on 127.0.0.1 only" in serve.log()
    assert get_json(serve, "/config")[0] == 200       # loopback without a token: no token asked


# -- case 4: uploads --------------------------------------------------------------------------------
def multipart(filename: str, data: bytes, content_type: str = "image/png") -> tuple[bytes, str]:
    boundary = "livemattetestboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(serve: Serve, filename: str, data: bytes, content_type: str = "image/png"):
    body, type_ = multipart(filename, data, content_type)
    status, _, raw = request(serve.url + "/settings", "POST", body, {"Content-Type": type_})
    return status, _json(raw)


def png_bytes(size, colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header that claims width×height (169 Mpx for 13000²) in a few hundred bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 4000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + pixels + chunk(b"IEND", b"")


def test_uploads_are_checked_before_decoding_and_refusals_leave_no_file(serve):
    status, body = upload(serve, "bomb.png", bomb_png(13000, 13000))
    assert status == 413 and "[input] max_pixels" in body["error"] and "13000×13000" in body["error"], body
    status, body = upload(serve, "big.png", b"\x89PNG" + b"\0" * 2_100_000)
    assert status == 413 and "max_upload_bytes" in body["error"], body
    status, body = upload(serve, "cut.png", png_bytes((640, 480), (1, 2, 3))[:300])
    assert status == 400 and "whole" in body["error"], body
    status, body = upload(serve, "evil.sh", b"#!/bin/sh\nid\n", "image/png")
    assert status == 400 and "PNG, JPEG or WebP" in body["error"], body
    assert serve.uploads() == []
    assert get_json(serve, "/config")[1]["background"] == SERVER_BACKGROUND


def test_an_upload_is_deleted_once_no_background_uses_it(serve):
    status, first = upload(serve, "red.png", png_bytes((64, 36), (255, 0, 0)))
    assert status == 200 and first["background"].startswith("upload:"), first
    assert len(serve.uploads()) == 1
    status, second = upload(serve, "blue.png", png_bytes((64, 36), (0, 0, 255)))
    assert status == 200 and second["background"] != first["background"]
    assert len(serve.uploads()) == 1                   # the first one is no longer used: gone
    assert get_json(serve, "/config")[1]["background"] == second["background"]   # by id, no server path
    status, body = post_json(serve, "/settings", {"background": first["background"]})
    assert status == 400 and "no such upload" in body["error"]
    assert post_json(serve, "/settings", {"background": SERVER_BACKGROUND})[0] == 200
    assert serve.uploads() == []


# -- case 3: a reachable address needs a token --------------------------------------------------------
def test_a_reachable_address_without_a_token_does_not_start(tmp_path):
    server = Serve(tmp_path, "--host", "0.0.0.0", env={"LIVEMATTE_TOKEN": ""})
    try:
        assert server.proc.wait(DEADLINE_S) != 0
    finally:
        server.stop()           # a server that did start (before the fix) is stopped, not left running
    log = server.log_path.read_text()
    assert "LIVEMATTE_TOKEN" in log and "[live] token" in log and "Traceback" not in log, log


def test_with_a_token_every_request_but_the_page_needs_it(tmp_path):
    token = "correct-horse-battery-staple-1"
    server = Serve(tmp_path, "--host", "0.0.0.0", env={"LIVEMATTE_TOKEN": token}).wait_ready()
    try:
        assert "reachable from other machines" in server.log()
        assert request(server.url + "/")[0] == 200          # the page itself, which asks for the token
        for headers in ({}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": token}):
            status, answer_headers, _ = request(server.url + "/config", headers=headers)
            assert status == 401 and "Bearer" in answer_headers["WWW-Authenticate"]
            status, body = post_json(server, "/settings", {"background": "blur"}, headers=headers)
            assert status == 401, body
        status, _, raw = request(server.url + "/config", headers={"Authorization": f"Bearer {token}"})
        assert status == 200 and json.loads(raw)["background"] == "transparent"
    finally:
        server.stop()


def test_a_large_upload_is_kept_reduced_to_what_a_live_background_needs(serve):
    status, body = upload(serve, "wide.png", png_bytes((5000, 400), (0, 90, 200)))
    assert status == 200, body
    (stored,) = serve.uploads()
    with Image.open(stored) as image:
        assert image.size == (3840, 307)
    assert post_json(serve, "/settings", {"background": SERVER_BACKGROUND})[0] == 200
    assert serve.uploads() == []
