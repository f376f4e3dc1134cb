"""FFV1 in .mkv: lossless with alpha, decoded back with PyAV to exactly the pixels that were written."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import run_cli
from livematte.config import OutputConfig
from livematte.errors import ConfigError
from livematte.frame import Frame
from livematte.sinks import open_sink, sink_kind
from media import make_clip


def _frames(channels: int, n: int = 5, size=(48, 34)) -> list[Frame]:
    rng = np.random.default_rng(channels)
    w, h = size
    frames = []
    for i in range(n):
        output = rng.integers(0, 256, (h, w, channels), np.uint8)
        frames.append(Frame(image=output[..., :3].copy(), alpha=None, output=output, pts=i * 40,
                            time_base=Fraction(1, 1000), index=i))
    return frames


def _decode(path) -> tuple[str, list[tuple[Fraction, np.ndarray]]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.pts * stream.time_base, f.to_ndarray(format="rgba")) for f in container.decode(stream)]
        return stream.codec_context.name, frames


@pytest.mark.parametrize("channels", [4, 3])
def test_ffv1_is_lossless_and_keeps_alpha_and_timestamps(tmp_path, channels):
    frames = _frames(channels)
    path = tmp_path / "a.mkv"
    with open_sink(str(path), OutputConfig(codec="ffv1")) as sink:
        for frame in frames:
            sink.write(frame)
    name, back = _decode(path)
    assert name == "ffv1" and len(back) == len(frames)
    assert [t for t, _ in back] == [Fraction(f.pts) * f.time_base for f in frames]
    for frame, (_, rgba) in zip(frames, back, strict=True):
        assert np.array_equal(rgba[..., :channels], frame.output)
        if channels == 3:
            assert (rgba[..., 3] == 255).all()


def test_ffv1_is_refused_for_containers_that_cannot_hold_it(tmp_path):
    assert sink_kind("out.mkv", OutputConfig(codec="ffv1")) == "ffv1"
    assert sink_kind("out.mkv", OutputConfig()) == "h264"             # .mkv alone keeps its old default
    with pytest.raises(ConfigError, match=r"out\.mp4: --codec ffv1 is written to \.mkv or \.avi"):
        sink_kind("out.mp4", OutputConfig(codec="ffv1"))


def test_render_to_ffv1_keeps_the_transparent_background(tmp_path, shared):
    clip = make_clip(tmp_path / "in.mp4", frames=4, size=(160, 96),
                     source=shared / "testdata/videos/room_two_people_1080p.mp4")
    out = tmp_path / "out.mkv"
    run_cli("render", clip, "-o", out, "--codec", "ffv1", "--no-progress", check=True)
    name, back = _decode(out)
    assert name == "ffv1" and len(back) == 4
    alpha = back[0][1][..., 3]
    assert alpha.min() == 0 and alpha.max() == 255                    # cut out, not flattened
