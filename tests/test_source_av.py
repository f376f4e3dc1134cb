"""AvSource on real clips and on clips the tests make: pts, rotation, alpha, sizes, bad inputs."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import TESTDATA
from livematte.errors import InputError, InputNotFound
from livematte.sources import is_image_sequence, open_source
from media import make_clip

GYM = TESTDATA / "videos" / "gym_426x240.mp4"


def write_clip(path: Path, images, *, pts=None, time_base=Fraction(1, 1000), codec="libx264",
               pix_fmt="yuv420p",
               fmt="rgb24", rotation=None, container_format=None) -> Path:
    """A clip with exactly these images and pts (VFR when the pts say so)."""
    h, w = images[0].shape[:2]
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format=fmt)
            frame.pts = pts[i] if pts is not None else i * 40
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_real_clip_frames_pts_and_metadata():
    with open_source(str(GYM)) as source:
        assert (source.width, source.height) == (426, 240)
        assert source.frame_count == 300
        assert source.frame_rate == Fraction(30000, 1001)
        frames = []
        for frame in source.frames():
            frames.append(frame)
            if len(frames) == 5:
                break
    assert [f.index for f in frames] == list(range(5))
    assert [f.pts for f in frames] == [0, 1001, 2002, 3003, 4004]
    assert all(f.time_base == Fraction(1, 30000) for f in frames)
    assert frames[0].discontinuity and not frames[1].discontinuity
    assert frames[0].image.shape == (240, 426, 3) and frames[0].image.dtype == np.uint8
    assert frames[0].origin == str(GYM)


def test_vfr_pts_kept_exactly(tmp_path):
    pts = [0, 40, 50, 130, 131, 400, 410]
    images = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(len(pts))]
    clip = write_clip(tmp_path / "vfr.mkv", images, pts=pts)
    with open_source(str(clip)) as source:
        got = [f.pts * f.time_base for f in source.frames()]
    assert got == [Fraction(p, 1000) for p in pts]


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_rotates_the_image(tmp_path, rotation):
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :16] = 255                   # a white bar on the left edge
    clip = write_clip(tmp_path / "rot.mp4", [image] * 3, rotation=rotation)
    with open_source(str(clip)) as source:
        first = next(source.frames()).image
        size = (source.width, source.height)
    grey = first.mean(axis=2)
    if rotation == 180:
        assert size == (64, 32) and grey[:, -8:].mean() > 200 and grey[:, :8].mean() < 50
    else:
        assert size == (32, 64)
        # counter-clockwise 90: the left edge goes to the bottom; clockwise: to the top
        bright, dark = (grey[-8:], grey[:8]) if rotation == 90 else (grey[:8], grey[-8:])
        assert bright.mean() > 200 and dark.mean() < 50


def test_vp9_alpha_is_decoded(tmp_path):
    rgba = np.zeros((32, 64, 4), np.uint8)
    rgba[..., 1] = 200
    rgba[..., 3] = np.arange(64, dtype=np.uint8)[None, :] * 4
    clip = write_clip(tmp_path / "a.webm", [rgba] * 3, codec="libvpx-vp9", pix_fmt="yuva420p", fmt="rgba")
    with open_source(str(clip)) as source:
        frame = next(source.frames())
    alpha = frame.source_alpha
    assert np.abs(alpha.astype(int) - rgba[..., 3]).max() <= 6


def test_size_change_marks_discontinuity(tmp_path):
    a = write_clip(tmp_path / "a.ts", [np.full((48, 64, 3), 80, np.uint8)] * 4, container_format="mpegts")
    b = write_clip(tmp_path / "b.ts", [np.full((32, 32, 3), 160, np.uint8)] * 4, container_format="mpegts")
    joined = tmp_path / "ab.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    with open_source(str(joined)) as source:
        frames = list(source.frames())
        warnings = source.warnings
    shapes = [f.image.shape[:2] for f in frames]
    assert shapes[0] == (48, 64) and shapes[-1] == (32, 32)
    change = shapes.index((32, 32))
    assert frames[change].discontinuity and not frames[change - 1].discontinuity or change == 0
    assert any("size changed" in w for w in warnings)


def test_image_sequence(tmp_path):
    import cv2

    for i in range(1, 4):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((20, 30, 3), 50 * i, np.uint8))
    assert is_image_sequence(str(tmp_path / "%04d.png")) and not is_image_sequence("http://x/%04d.png")
    with open_source(str(tmp_path / "%04d.png")) as source:
        frames = list(source.frames())
    assert len(frames) == 3 and frames[2].image.shape == (20, 30, 3)
    assert frames[2].image[0, 0, 0] == 150
    with open_source(str(tmp_path / "*.png")) as source:
        assert len(list(source.frames())) == 3


def test_corrupt_bytes_mid_file_are_counted_and_skipped(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", frames=30, source=GYM)
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with open_source(str(bad)) as source:
        frames = list(source.frames())
        errors = source.errors
    assert errors, "corrupt packets should be reported"
    assert 20 <= len(frames) < 30
    assert all(e["reason"] for e in errors)


def test_bad_inputs_raise_errors_naming_the_file(tmp_path):
    with pytest.raises(InputNotFound, match="missing.mp4"):
        open_source(str(tmp_path / "missing.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="junk.mp4"):
        open_source(str(junk))
    audio_only = tmp_path / "audio.m4a"
    with av.open(str(audio_only), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        chunk.sample_rate = 48000
        for i in range(10):
            chunk.pts = i * 1024
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    with pytest.raises(InputError, match="audio.m4a.*no video stream"):
        open_source(str(audio_only))
    empty = tmp_path / "empty.mkv"
    with av.open(str(empty), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height = 64, 48
        out.start_encoding()          # header only: a valid file with a video stream and no frames
    assert empty.stat().st_size > 0
    with pytest.raises(InputError, match="empty.mkv"):
        open_source(str(empty))


def test_bt709_tagged_clip_decodes_to_the_right_colours(tmp_path):
    image = np.zeros((64, 64, 3), np.uint8)
    image[:32] = (200, 30, 40)
    image[32:] = (20, 180, 60)
    path = tmp_path / "hd.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.codec_context.colorspace, stream.codec_context.color_range = 1, 1     # BT.709, limited
        stream.options = {"crf": "0"}
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with open_source(str(path)) as source:
        decoded = next(source.frames()).image
    assert np.abs(decoded[8:24, 8:56].astype(int) - (200, 30, 40)).max() <= 4
    assert np.abs(decoded[40:56, 8:56].astype(int) - (20, 180, 60)).max() <= 4


def test_one_rule_says_which_inputs_play_in_real_time(tmp_path):
    from livematte.sources import is_live

    assert is_live("rtmp://127.0.0.1/live/key") and is_live("rtsp://cam/stream") and is_live("/dev/video0")
    # a file plays from storage wherever it is: render decodes it ahead, serve paces and loops it
    assert not is_live("http://127.0.0.1:8000/clip.mp4") and not is_live(str(tmp_path / "clip.mp4"))
