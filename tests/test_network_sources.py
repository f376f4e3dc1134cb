"""Network inputs for real, on loopback only: RTMP served by FFmpeg's own rtmp listener, HLS over http.server.

Every server is bounded in time (a listen timeout, a join with a timeout) and binds 127.0.0.1 only.
"""
from __future__ import annotations

import functools
import http.server
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import TESTDATA, run_cli
from live_media import GREEN, coloured, far_background
from livematte.config import load_config
from livematte.pipeline import render
from net_media import RtmpServer, RtspPublisher, clip_images

ROOM = TESTDATA / "videos" / "room_two_people_1080p.mp4"
SIZE = (320, 180)


def _has_protocol(scheme: str) -> bool:
    """PyAV lists formats but not protocols: a closed loopback port answers "refused" if the protocol
    is built in, "protocol not found" if not."""
    try:
        av.open(f"{scheme}://127.0.0.1:9/probe", timeout=2).close()
    except av.error.ProtocolNotFoundError:
        return False
    except av.FFmpegError:
        pass
    return True


def _skip_without(scheme: str | None, muxer: str):
    missing = [f"the {muxer} muxer"] if muxer not in av.formats_available else []
    missing += [f"the {scheme} protocol"] if scheme and not _has_protocol(scheme) else []
    return pytest.mark.skipif(bool(missing), reason=f"this FFmpeg build (PyAV) lacks {' and '.join(missing)}")


def decoded(path) -> list[tuple[Fraction, np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(f.pts * stream.time_base, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]


@_skip_without("rtmp", "flv")
def test_rtmp_stream_renders_every_frame_on_green_and_its_end_is_clean(tmp_path, engine):
    frames = 56                                   # 2 s at 28 fps, paced in real time by the server
    out = tmp_path / "out.mp4"
    with RtmpServer(ROOM, frames, SIZE, fps=28) as server:
        result = run_cli("render", server.url, "-o", out, "-b", "color:#00ff00", "--model", "selfie",
                         "--timeout", "5", timeout=120)
    assert result.returncode == 0, result.stderr
    assert server.exitcode == 0, "the server should have sent everything and closed"
    assert "the stream ended or its server went away after 56 video packets" in result.stderr   # named
    assert "corrupt" not in result.stderr
    back = decoded(out)
    assert len(back) == frames
    stamps = [t for t, _ in back]
    assert stamps == sorted(set(stamps)) and stamps[-1] - stamps[0] > Fraction(3, 2)   # increasing, ~2 s
    images = clip_images(ROOM, frames, SIZE)
    far = far_background(images[::8], engine)
    assert far.sum() > 500, "the clip should have background far from the people"
    for _, image in back[::10]:
        assert coloured(image, far, GREEN)


@_skip_without("rtmp", "flv")
def test_rtmp_stream_that_stalls_is_retried_then_ends_with_a_valid_file(tmp_path, engine):
    cfg = load_config(None, {"input": {"retries": 1, "timeout_s": 1.0}})
    with RtmpServer(ROOM, 40, SIZE, fps=28, stall_after=15, stall_s=20) as server:
        report = render(server.url, str(tmp_path / "o.mp4"), cfg, progress=False, engine=engine)
        # Still mid-stall with its connection open: the player gave up on its read timeout, not on a close.
        assert server.process.is_alive()
    assert 1 <= report.frames_written <= 15
    assert not report.corrupt_packets                     # nothing was skipped: the stream just stopped
    assert any(server.url in w and "ended or its server went away after" in w for w in report.warnings)
    back = decoded(tmp_path / "o.mp4")
    assert len(back) == report.frames_written
    assert [t for t, _ in back] == sorted({t for t, _ in back})


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def hls_folder(tmp_path):
    """A VOD HLS playlist of 30 real frames in several half-second segments, muxed by PyAV's hls muxer."""
    folder = tmp_path / "hls"
    folder.mkdir()
    images = clip_images(ROOM, 30, SIZE)
    with av.open(str(folder / "index.m3u8"), "w", format="hls",
                 options={"hls_time": "0.5", "hls_list_size": "0", "hls_playlist_type": "vod",
                          "hls_segment_filename": str(folder / "seg%03d.ts")}) as out:
        stream = out.add_stream("libx264", rate=30,
                                options={"g": "15", "keyint_min": "15", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return folder


@_skip_without("http", "hls")
def test_hls_playlist_over_http_renders_every_muxed_frame(tmp_path, hls_folder, engine):
    segments = sorted(p.name for p in hls_folder.glob("seg*.ts"))
    assert len(segments) >= 2, "the playlist should span several segments"
    assert all(name in (hls_folder / "index.m3u8").read_text() for name in segments)
    handler = functools.partial(_QuietHandler, directory=str(hls_folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    cfg = load_config(None, {"input": {"retries": 1, "timeout_s": 5.0}})
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
        report = render(url, str(tmp_path / "h.mp4"), cfg, progress=False, engine=engine)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert report.frames_written == 30
    assert not report.corrupt_packets and not [w for w in report.warnings if url in w]
    back = decoded(tmp_path / "h.mp4")
    assert len(back) == 30
    stamps = [t for t, _ in back]
    assert stamps == sorted(set(stamps))


@_skip_without("rtmp", "flv")
def test_serve_feed_from_rtmp_delivers_matted_frames_and_stops_when_the_stream_ends(engine):
    """`livematte serve --source rtmp://...`: the shared SourceFeed plays the stream once, then stops."""
    from livematte.live import LiveProcessor
    from livematte.server.feed import SourceFeed
    from livematte.sinks.rgb import output_rgb
    from livematte.slot import Closed

    config = load_config(None, {"background": {"spec": "color:#00FF00"}})
    images = clip_images(ROOM, 8, SIZE)
    far = far_background(images, engine)
    outputs = []
    with RtmpServer(ROOM, 42, SIZE, fps=28) as server:
        feed = SourceFeed(server.url, lambda: LiveProcessor(config, engine, name="source"))
        slot = feed.attach().subscribe()
        deadline = time.monotonic() + 60                   # the stream lasts 1.5 s; this only bounds a hang
        while time.monotonic() < deadline:
            try:
                frame = slot.take(timeout=0.5)
            except Closed:                                # the feed closed its processor: the stream ended
                break
            if frame is not None:
                outputs.append(output_rgb(frame))
        feed.detach()
        feed.close()
    assert slot.closed and not feed.running and feed.error is None
    assert 5 <= len(outputs) <= 42                        # a live consumer may drop, never invent frames
    assert all(image.shape == (SIZE[1], SIZE[0], 3) for image in outputs)
    assert coloured(outputs[len(outputs) // 2], far, GREEN)


@_skip_without("rtsp", "rtsp")
def test_rtsp_publish_to_a_listening_source_delivers_every_frame():
    """RTSP the way FFmpeg can do it on its own: the source listens (rtsp_flags=listen) and a publisher
    pushes to it. FFmpeg has no RTSP server that serves players, so `render rtsp://...` as a player
    is not testable here without a third-party server."""
    from livematte.sources import open_source

    with RtspPublisher(ROOM, 42, SIZE, fps=28) as publisher:
        with open_source(publisher.url, live=True, retries=0, timeout_s=5.0,
                         av_options={"rtsp_flags": "listen", "listen_timeout": "20"}) as source:
            frames = list(source.frames())
    assert publisher.process.exitcode == 0
    assert len(frames) == 42 and not source.warnings
    assert all(f.image.shape == (SIZE[1], SIZE[0], 3) for f in frames)
    seconds = sorted(float(f.pts * f.time_base) for f in frames)
    assert len(set(seconds)) == 42 and 1.2 < seconds[-1] - seconds[0] < 2.0     # 41 intervals of 1/28 s


@_skip_without("rtsp", "rtsp")
def test_render_receives_an_rtsp_push_with_input_options(tmp_path, engine):
    """A seller's encoder pushes RTSP to livematte: `--input-option rtsp_flags=listen` makes render wait for it."""
    out = tmp_path / "pushed.mp4"
    with RtspPublisher(ROOM, 42, SIZE, fps=28) as publisher:
        result = run_cli("render", publisher.url, "-o", out, "-b", "color:#00ff00", "--retries", "0",
                         "--timeout", "5", "--input-option", "rtsp_flags=listen",
                         "--input-option", "listen_timeout=20", timeout=120)
    assert result.returncode == 0, result.stderr
    frames = decoded(out)
    assert len(frames) == 42
    far = far_background(clip_images(ROOM, 42, SIZE)[::8], engine)
    assert coloured(frames[len(frames) // 2][1], far, GREEN)


def test_a_malformed_input_option_is_refused_naming_it(tmp_path):
    result = run_cli("render", ROOM, "-o", tmp_path / "o.mp4", "--input-option", "listen")
    assert result.returncode != 0
    assert "--input-option 'listen': expected KEY=VALUE" in result.stderr


@_skip_without("rtsp", "rtsp")
def test_serve_feed_takes_the_input_options_and_receives_an_rtsp_push(engine):
    """`livematte serve --source rtsp://... --input-option rtsp_flags=listen`: the feed opens its source
    with the [input] options, so it can wait for a publisher."""
    from livematte.live import LiveProcessor
    from livematte.server.feed import SourceFeed
    from livematte.sinks.rgb import output_rgb
    from livematte.slot import Closed

    config = load_config(None, {"background": {"spec": "color:#00FF00"},
                                "input": {"retries": 0, "timeout_s": 5.0,
                                          "options": {"rtsp_flags": "listen", "listen_timeout": 20}}})
    far = far_background(clip_images(ROOM, 8, SIZE), engine)
    outputs = []
    with RtspPublisher(ROOM, 42, SIZE, fps=28) as publisher:
        feed = SourceFeed(publisher.url, lambda: LiveProcessor(config, engine, name="source"),
                          config.input.source_options())
        slot = feed.attach().subscribe()
        deadline = time.monotonic() + 60                   # the push lasts 1.5 s; this only bounds a hang
        while time.monotonic() < deadline:
            try:
                frame = slot.take(timeout=0.5)
            except Closed:
                break
            if frame is not None:
                outputs.append(output_rgb(frame))
        feed.detach()
        feed.close()
    assert publisher.process.exitcode == 0 and feed.error is None
    assert 5 <= len(outputs) <= 42
    assert coloured(outputs[len(outputs) // 2], far, GREEN)
