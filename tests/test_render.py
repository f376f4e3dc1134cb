"""render() and `livematte render` end to end on real clips: frames, timestamps, alpha, audio, bad input."""
from __future__ import annotations

import functools
import http.server
import os
import signal
import threading
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from conftest import TESTDATA, run_cli
from livematte.config import load_config
from livematte.errors import InputError
from livematte.pipeline import render
from livematte.sources import open_source
from livematte.stages.backgrounds.video import VideoBackground
from media import make_clip, remux_to_ts, render_until_written

ROOM = TESTDATA / "videos" / "room_two_people_1080p.mp4"
GYM = TESTDATA / "videos" / "gym_426x240.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 8 frames of the real 1080p clip at 320x180, with an audio track."""
    return make_clip(tmp_path_factory.mktemp("render") / "room.mp4", frames=8, size=(320, 180), fps=28,
                     source=ROOM, audio=True)


def times(path, decoder=None):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = av.CodecContext.create(decoder, "r") if decoder else stream.codec_context
        return [(f.pts * stream.time_base, f.to_ndarray(format="rgba"))
                for p in container.demux(stream) for f in ctx.decode(p)]


def config(**output):
    return load_config(None, {"output": output} if output else None)


def test_same_frames_and_timestamps_as_input(tmp_path, clip, engine):
    import cv2

    pool = cv2.getNumThreads()
    report = render(str(clip), str(tmp_path / "out.mp4"), config(), progress=False, engine=engine)
    assert cv2.getNumThreads() == pool, "render runs OpenCV single-threaded and must give the pool back"
    with open_source(str(clip)) as source:
        expected = [f.pts * f.time_base for f in source.frames()]
    assert report.frames_written == len(expected) == 8 and not report.interrupted
    assert [t for t, _ in times(tmp_path / "out.mp4")] == expected
    assert set(report.stage_seconds) >= {"decode", "OnnxEngine", "encode"}
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.audio, "audio should be kept"


def test_alpha_of_prores_vp9_and_png_matches_the_pipeline_mask(tmp_path, clip, engine):
    cfg = config()
    render(str(clip), str(tmp_path / "png" / "%06d.png"), cfg, progress=False, engine=engine)
    masks = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED)[..., 3] for p in sorted((tmp_path / "png").iterdir())]
    assert len(masks) == 8 and masks[0].min() < 50 and masks[0].max() > 200   # a person and a background
    for name, decoder, tolerance in [("o.mov", None, 2.0), ("o.webm", "libvpx-vp9", 4.0)]:
        render(str(clip), str(tmp_path / name), cfg, progress=False, engine=engine)
        back = times(tmp_path / name, decoder)
        assert len(back) == 8
        for mask, (_, rgba) in zip(masks, back, strict=True):
            assert np.abs(rgba[..., 3].astype(int) - mask).mean() <= tolerance, name


def test_vfr_input_keeps_its_timestamps(tmp_path, engine):
    pts = [0, 40, 50, 130, 131, 400]
    path = tmp_path / "vfr.mkv"
    with av.open(str(GYM)) as src, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 426, 240, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for p, frame in zip(pts, src.decode(video=0), strict=False):
            frame = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            frame.pts, frame.time_base = p, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    render(str(path), str(tmp_path / "vfr.mp4"), config(), progress=False, engine=engine)
    assert [t for t, _ in times(tmp_path / "vfr.mp4")] == [Fraction(p, 1000) for p in pts]


def test_cli_no_audio_and_matte_only(tmp_path, clip):
    out = tmp_path / "m.mp4"
    run_cli("render", clip, "-o", out, "--no-audio", "--matte-only", "--crf", "18", "--preset", "ultrafast",
            check=True)
    with av.open(str(out)) as container:
        assert not container.streams.audio
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(image[..., 0].astype(int) - image[..., 1]).max() <= 3      # grey
    assert image.min() < 50 and image.max() > 200                           # a matte, not a picture


def test_background_colour_far_from_the_person(tmp_path, clip, engine):
    render(str(clip), str(tmp_path / "g.png"), load_config(None, {"background": {"spec": "color:#00ff00"}}),
           progress=False, engine=engine)
    first = cv2.cvtColor(cv2.imread(str(tmp_path / "g" / "000001.png")), cv2.COLOR_BGR2RGB)
    assert first.shape == (180, 320, 3)
    corner = first[:20, :20].reshape(-1, 3).astype(int)     # the room's corner, far from both people
    assert (np.abs(corner - [0, 255, 0]).max(axis=1) <= 30).mean() > 0.9


def test_bad_inputs_exit_non_zero_naming_the_file(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(40_000))
    audio_only = tmp_path / "tone.m4a"
    make_clip(tmp_path / "av.mp4", frames=5, audio=True)
    with av.open(str(tmp_path / "av.mp4")) as src, av.open(str(audio_only), "w") as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    truncated = tmp_path / "truncated.mp4"     # moov atom at the end: cut off, the file can't be read
    data = make_clip(tmp_path / "full.mp4", frames=10, source=GYM).read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    for bad, words in [(junk, "cannot open"), (audio_only, "no video stream"), (truncated, "cannot open"),
                       (tmp_path / "missing.mp4", "no such file")]:
        result = run_cli("render", bad, "-o", tmp_path / "out.mp4")
        assert result.returncode != 0
        assert str(bad) in result.stderr and words in result.stderr, result.stderr
        assert not (tmp_path / "out.mp4").exists()
    assert [p for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_truncated_stream_and_corrupt_packets_keep_every_good_frame(tmp_path, engine):
    clip = make_clip(tmp_path / "c.mp4", frames=30, source=GYM)
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    (tmp_path / "bad.mp4").write_bytes(bytes(data))
    with open_source(str(tmp_path / "bad.mp4")) as source:
        good = len(list(source.frames()))
    report = render(str(tmp_path / "bad.mp4"), str(tmp_path / "o.mp4"), config(), progress=False,
                    engine=engine)
    assert report.corrupt_packets and "corrupt" in report.summary()
    assert report.frames_written == good and 20 <= good < 30
    assert len(times(tmp_path / "o.mp4")) == good
    # a truncated MPEG-TS (a recording cut off mid-write) renders what is there
    ts = tmp_path / "c.ts"
    remux_to_ts(clip, ts)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(ts.read_bytes()[: ts.stat().st_size // 2])
    report = render(str(cut), str(tmp_path / "cut.mp4"), config(), progress=False, engine=engine)
    assert 5 <= report.frames_written < 30
    assert len(times(tmp_path / "cut.mp4")) == report.frames_written


def test_resolution_change_mid_stream(tmp_path, engine):
    parts = []
    for name, size in [("a.ts", (320, 180)), ("b.ts", (160, 120))]:
        mp4 = make_clip(tmp_path / f"{name}.mp4", frames=4, size=size, source=ROOM)
        with av.open(str(mp4)) as src, av.open(str(tmp_path / name), "w", format="mpegts") as out:
            stream = out.add_stream_from_template(src.streams.video[0])
            for packet in src.demux(src.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = stream
                    out.mux(packet)
        parts.append((tmp_path / name).read_bytes())
    (tmp_path / "ab.ts").write_bytes(b"".join(parts))
    report = render(str(tmp_path / "ab.ts"), str(tmp_path / "ab.mov"), config(), progress=False,
                    engine=engine)
    assert report.frames_written == 8
    assert any("size changed" in w for w in report.warnings)
    back = times(tmp_path / "ab.mov")
    assert len(back) == 8 and back[-1][1].shape[:2] == (180, 320)


def test_ctrl_c_leaves_a_playable_file_or_none(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", frames=300, source=GYM, size=(426, 240))
    out = tmp_path / "out.mp4"
    # The real event: the encoder has muxed frames into the temporary file (FFmpeg writes it a buffer
    # at a time), so Ctrl-C lands where there is something to keep.
    proc = render_until_written(clip, out, "--preset", "ultrafast")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == [], stderr
    assert out.exists(), stderr         # frames had been muxed: the stop keeps them
    if out.exists():
        frames = len(times(out))
        assert frames > 0
        if proc.returncode == 130:
            assert frames < 300 and "stopped early" in stderr
    else:
        assert proc.returncode == 130


def test_render_from_http(tmp_path, clip, engine):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(clip.parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{clip.name}"
        report = render(url, str(tmp_path / "h.mp4"), config(), progress=False, engine=engine)
    finally:
        server.shutdown()
    assert report.frames_written == 8
    assert len(times(tmp_path / "h.mp4")) == 8


def test_video_background_loops_in_time(tmp_path):
    from livematte.frame import Frame

    bg_clip = make_clip(tmp_path / "bg.mp4", frames=10, fps=10, size=(64, 48))   # 1 s of moving bars
    background = VideoBackground(str(bg_clip), "fill")
    with open_source(str(bg_clip)) as source:
        originals = [f.image for f in source.frames()]
    frame = lambda seconds: Frame(image=np.zeros((24, 32, 3), np.uint8), pts=round(seconds * 1000),  # noqa: E731
                                  time_base=Fraction(1, 1000))
    first = background.render(frame(0.0)).copy()
    assert first.shape == (24, 32, 3)
    small = [cv2.resize(image, (32, 24), interpolation=cv2.INTER_AREA).astype(int) for image in originals]
    assert np.abs(first.astype(int) - small[0]).max() <= 1
    fifth = background.render(frame(0.52)).copy()
    assert np.abs(fifth.astype(int) - small[5]).max() <= 1
    looped = background.render(frame(1.52))          # one loop later: the same background frame
    assert np.array_equal(looped, fifth)
    fitted = VideoBackground(str(bg_clip), "fit").render(Frame(image=np.zeros((48, 32, 3), np.uint8), pts=0,
                                                             time_base=Fraction(1, 1000)))
    assert fitted.shape == (48, 32, 3) and fitted[:8].max() == 0 and fitted[20:28].max() > 0   # letterboxed
    with pytest.raises(InputError):
        VideoBackground(str(bg_clip), "stretch")


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Sends the first half of the file, then stalls: a network source that stops delivering."""

    data = b""
    release = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()
        self.wfile.write(self.data[: len(self.data) // 2])
        self.wfile.flush()
        self.release.wait(30)

    def log_message(self, *args):
        pass


def test_stalled_stream_is_retried_then_ends_with_a_valid_file(tmp_path, engine):
    mp4 = make_clip(tmp_path / "s.mp4", frames=30, size=(320, 180), source=ROOM)
    ts = tmp_path / "s.ts"
    remux_to_ts(mp4, ts)
    _StallingHandler.data = ts.read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg = load_config(None, {"input": {"retries": 1, "timeout_s": 1.0}})
    try:
        report = render(f"http://127.0.0.1:{server.server_address[1]}/s.ts", str(tmp_path / "o.mp4"), cfg,
                        progress=False, engine=engine)
    finally:
        _StallingHandler.release.set()
        server.shutdown()
    assert 3 <= report.frames_written < 30
    assert any("reconnect attempts failed" in w for w in report.warnings)
    assert sum("stalled" in e["reason"] for e in report.corrupt_packets) == 2     # first stall + 1 retry
    back = times(tmp_path / "o.mp4")
    assert len(back) == report.frames_written
    assert [t for t, _ in back] == sorted({t for t, _ in back})     # no frame twice after the reconnect
