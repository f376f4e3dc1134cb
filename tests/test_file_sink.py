"""File sinks on frames made here: alpha survives each codec, pts kept, audio carried, outputs atomic."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest

from livematte.config import OutputConfig
from livematte.frame import Frame
from livematte.sinks import open_sink
from livematte.sources import open_source
from media import make_clip


def rgba_frames(n=6, size=(64, 48), pts=None, time_base=Fraction(1, 1000)):
    w, h = size
    frames = []
    for i in range(n):
        image = np.zeros((h, w, 3), np.uint8)
        image[..., 0] = 40 * i % 256
        image[..., 1] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        alpha = np.zeros((h, w), np.uint8)
        alpha[:, w // 4 : 3 * w // 4] = 255
        alpha[:, 3 * w // 4 :] = 128
        frames.append(Frame(image=image, alpha=alpha, output=np.dstack([image, alpha]),
                            pts=pts[i] if pts else i * 40, time_base=time_base, index=i))
    return frames


def decoded(path, decoder=None):
    """[(seconds, rgba)] read back with PyAV (libvpx-vp9 for VP9 alpha, as users must)."""
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = av.CodecContext.create(decoder, "r") if decoder else stream.codec_context
        for packet in container.demux(stream):
            for f in ctx.decode(packet):
                out.append((f.pts * stream.time_base, f.to_ndarray(format="rgba")))
    return out


@pytest.mark.parametrize("name, decoder, tolerance", [("a.mov", None, 3), ("a.webm", "libvpx-vp9", 12)])
def test_alpha_survives_video_codecs(tmp_path, name, decoder, tolerance):
    frames = rgba_frames()
    with open_sink(str(tmp_path / name), OutputConfig(crf=10)) as sink:
        for f in frames:
            sink.write(f)
    back = decoded(tmp_path / name, decoder)
    assert len(back) == len(frames)
    assert [t for t, _ in back] == [Fraction(f.pts) * f.time_base for f in frames]
    for f, (_, rgba) in zip(frames, back, strict=True):
        # compare away from the alpha steps, where chroma subsampling blurs the edge
        inner = (slice(4, -4), slice(20, 44))
        assert np.abs(rgba[..., 3].astype(int) - f.alpha)[inner].mean() <= tolerance
        assert abs(int(rgba[24, 56, 3]) - 128) <= tolerance


def test_png_sequence_keeps_alpha_exactly(tmp_path):
    frames = rgba_frames(3)
    with open_sink(str(tmp_path / "out" / "%06d.png")) as sink:
        for f in frames:
            sink.write(f)
    files = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in files] == ["000001.png", "000002.png", "000003.png"]
    import cv2

    back = cv2.cvtColor(cv2.imread(str(files[1]), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    assert np.array_equal(back, frames[1].output)


def test_vfr_timestamps_kept_in_mp4(tmp_path):
    pts = [0, 33, 50, 120, 121, 300]
    frames = rgba_frames(len(pts), pts=pts)
    with open_sink(str(tmp_path / "v.mp4")) as sink:
        for f in frames:
            sink.write(f)
    with open_source(str(tmp_path / "v.mp4")) as source:
        got = [f.pts * f.time_base for f in source.frames()]
    assert got == [Fraction(p, 1000) for p in pts]


def test_matte_only_writes_grey_alpha(tmp_path):
    frames = rgba_frames(3)
    with open_sink(str(tmp_path / "m.mov"), OutputConfig(matte_only=True)) as sink:
        for f in frames:
            sink.write(f)
    with open_source(str(tmp_path / "m.mov")) as source:
        image = next(source.frames()).image
    assert np.abs(image[..., 0].astype(int) - frames[0].alpha).mean() < 3
    assert np.abs(image[..., 0].astype(int) - image[..., 2]).max() <= 2   # grey


@pytest.mark.parametrize("name, audio, codec", [("o.mp4", True, "aac"), ("o.webm", True, "opus"),
                                                ("o.mov", True, "aac"), ("n.mp4", False, None)])
def test_audio_copied_reencoded_or_dropped(tmp_path, name, audio, codec):
    clip = make_clip(tmp_path / "in.mp4", frames=12, audio=True)
    with open_source(str(clip), audio=audio) as source, \
            open_sink(str(tmp_path / name), OutputConfig(audio=audio), like=source) as sink:
        for frame in source.frames():
            sink.write(replace(frame, alpha=np.full(frame.image.shape[:2], 255, np.uint8)))
    with av.open(str(tmp_path / name)) as container:
        assert len(container.streams.video) == 1
        if codec is None:
            assert not container.streams.audio
        else:
            stream = container.streams.audio[0]
            assert stream.codec_context.name == codec
            samples = sum(f.samples for f in container.decode(stream))
            assert samples > 0.3 * 48000   # most of the 0.48 s of tone


def test_size_change_scales_to_first_size(tmp_path):
    smaller = np.zeros((30, 40, 4), np.uint8)
    frames = rgba_frames(3) + [replace(f, index=3 + i, pts=200 + 40 * i, output=smaller)
                               for i, f in enumerate(rgba_frames(2))]
    with open_sink(str(tmp_path / "s.mp4")) as sink:
        for f in frames:
            sink.write(f)
    assert any("scaled to the first frame's size" in w for w in sink.warnings)
    with open_source(str(tmp_path / "s.mp4")) as source:
        assert (source.width, source.height) == (64, 48)
        assert len(list(source.frames())) == 5


def test_error_leaves_no_file_and_interrupt_leaves_a_valid_one(tmp_path):
    target = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError), open_sink(str(target)) as sink:
        sink.write(rgba_frames(1)[0])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt), open_sink(str(target)) as sink:
        for f in rgba_frames(4):
            sink.write(f)
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]
    with open_source(str(target)) as source:
        assert len(list(source.frames())) == 4
