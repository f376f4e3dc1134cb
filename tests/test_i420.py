"""Compositing in I420 for yuv420p outputs: the same picture as the RGB composite, converted; renders match."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA
from livematte.config import load_config
from livematte.pipeline import render
from livematte.sinks import open_sink
from livematte.sources import open_source
from livematte.stages import build_stages, reset_stages, run_stages
from livematte.stages import i420 as yuv
from livematte.stages.composite import Composite
from livematte.stages.shadow import make_shadow
from media import make_clip

ROOM = TESTDATA / "videos" / "room_two_people_1080p.mp4"
GYM = TESTDATA / "videos" / "gym_426x240.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The real clip's first frames at 322x178: even, but H/2 and W/2 odd, so the U and V planes of an I420
    array don't start on a row boundary."""
    return make_clip(tmp_path_factory.mktemp("i420") / "room.mp4", frames=6, size=(322, 178), source=ROOM)


@pytest.fixture(scope="module")
def matted(clip, engine):
    """A decoded frame (with the source's I420) and the real engine's alpha."""
    with open_source(str(clip), audio=False) as source:
        frame = next(source.frames())
    frame = engine(frame)
    assert frame.yuv is not None and frame.alpha is not None
    soft = (frame.alpha > 0) & (frame.alpha < 255)
    assert soft.sum() > 200 and (frame.alpha == 255).sum() > 2000 and (frame.alpha == 0).sum() > 2000
    return frame


def reference(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What the sink made of the RGB composite (OpenCV's RGB→I420), except for chroma where the 2×2 block
    straddles a soft edge: there, the block's average chroma.

    OpenCV's RGB→I420 takes each block's chroma from its top-left pixel only; the I420 composite blends
    chroma with the block's average alpha, as a 4:2:0 encoder averaging the RGB composite would. Where
    the alpha is the same over the block the two agree (the planes that go in are OpenCV's, or the
    decoder's); where it varies they differ by how the alpha varies, and the average is the right one.
    The per-pixel chroma is read from the picture scaled up 2× by repetition."""
    h, w = rgb.shape[:2]
    out = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    big = cv2.cvtColor(cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST), cv2.COLOR_RGB2YUV_I420)
    mixed = mixed_blocks(alpha)
    for full, target in zip(yuv.planes(big, 2 * h, 2 * w)[1:], yuv.planes(out, h, w)[1:], strict=True):
        target[mixed] = cv2.resize(full, (w // 2, h // 2), interpolation=cv2.INTER_AREA)[mixed]
    return out


def mixed_blocks(alpha: np.ndarray) -> np.ndarray:
    """(H/2)×(W/2): where the alpha varies within the 2×2 block."""
    h, w = alpha.shape
    blocks = alpha.reshape(h // 2, 2, w // 2, 2)
    return blocks.min(axis=(1, 3)) != blocks.max(axis=(1, 3))


def assert_close(out: np.ndarray, ref: np.ndarray, where: np.ndarray | None = None) -> None:
    assert out.shape == ref.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - ref)
    diff = diff if where is None else diff[where]
    assert (diff <= 2).mean() >= 0.999, f"{(diff > 2).mean():.4%} of samples differ by more than 2"


def shadow(kind: str):
    return make_shadow(load_config(None, {"shadow": {"kind": kind}}).shadow)


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("bg") / "bg.png"
    x = np.linspace(0, 255, 200, dtype=np.uint8)
    Image.fromarray(np.dstack([np.tile(x, (120, 1)), np.tile(x[::-1], (120, 1)), np.full((120, 200), 90, np.uint8)])
                    ).save(path)
    return str(path)


@pytest.mark.parametrize("spec, shadow_kind", [
    ("blur", None), ("blur:60", None), ("color:#00ff00", None), ("gradient:#ff0000,#0000ff", None),
    ("image", None), ("video", None), ("video:gym", None), ("blur:60", "drop"), ("white", "contact"),
])
def test_i420_composite_is_the_rgb_composite_converted(matted, photo, clip, spec, shadow_kind):
    # video: the clip itself, shown unscaled (its own decoded planes); video:gym is scaled to fill.
    spec = {"image": f"image:{photo}", "video": f"video:{clip}", "video:gym": f"video:{GYM}"}.get(spec, spec)
    made = shadow(shadow_kind) if shadow_kind else None
    rgb = Composite(spec, shadow=made)(matted).output
    out = Composite(spec, shadow=made, i420=True)(matted).output_i420
    assert out.shape == (178 * 3 // 2, 322)
    where = None
    if spec.endswith(str(GYM)):
        # A detailed background (the scaled clip) converted as the sink converts it has each block's
        # chroma from its top-left pixel, so at soft edges neither reference applies: compare Y everywhere
        # and chroma where the alpha is the same over the block.
        where = np.ones(out.shape, bool)
        for plane in yuv.planes(where, 178, 322)[1:]:
            plane[mixed_blocks(matted.alpha)] = False
    assert_close(out, reference(rgb, matted.alpha), where)
    if shadow_kind:    # the shadow is there: darker than the same composite without it
        plain = Composite(spec, i420=True)(matted).output_i420
        assert (out[:178].astype(int) - plain[:178] < -10).mean() > 0.01


@pytest.mark.parametrize("spec", ["blur:60", "color:#3366cc"])
def test_decontaminated_foreground_and_frames_without_yuv(matted, spec):
    # A foreground colour set by decontamination is what goes over, not the decoded planes.
    foreground = np.ascontiguousarray(255 - matted.image)
    frame = replace(matted, foreground=foreground)
    out = Composite(spec, i420=True)(frame).output_i420
    assert_close(out, reference(Composite(spec)(frame).output, frame.alpha))
    core = matted.alpha == 255
    y = cv2.cvtColor(foreground, cv2.COLOR_RGB2YUV_I420)[:178]
    assert np.abs(out[:178][core].astype(int) - y[core]).max() <= 1
    # No decoded planes (a still, a rotated video): converted from the image instead, same picture.
    bare = replace(matted, yuv=None)
    assert_close(Composite(spec, i420=True)(bare).output_i420, reference(Composite(spec)(bare).output, bare.alpha))


def test_transparent_and_odd_sizes_stay_rgb(matted):
    assert Composite("transparent", i420=True)(matted).output.shape == (178, 322, 4)
    odd = replace(matted, image=matted.image[:177, :321], alpha=matted.alpha[:177, :321], yuv=None)
    out = Composite("blur", i420=True)(odd).output
    assert out.shape == (177, 321, 3)
    assert np.array_equal(out, Composite("blur")(odd).output)


def test_source_keeps_its_decoded_i420(clip, tmp_path):
    with open_source(str(clip), audio=False) as source:
        frames = list(source.frames())
    for frame in frames:
        assert frame.yuv.shape == (178 * 3 // 2, 322) and not frame.yuv.flags.writeable
        assert np.array_equal(cv2.cvtColor(frame.yuv, cv2.COLOR_YUV2RGB_I420), frame.image)
    # A rotated video: the planes are in the stored orientation, the image is not, so no yuv.
    rotated = tmp_path / "rot.mp4"
    with av.open(str(rotated), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        for i in range(2):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((32, 64, 3), 50 * i, np.uint8),
                                                             format="rgb24")))
        out.mux(stream.encode(None))
    with open_source(str(rotated), audio=False) as source:
        frame = next(source.frames())
    assert frame.image.shape == (64, 32, 3) and frame.yuv is None


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return 10 * np.log10(255 ** 2 / max(mse, 1e-9))


def test_render_to_mp4_in_i420_matches_the_rgb_path(tmp_path, clip, engine):
    config = load_config(None, {"background": {"spec": "blur"}})
    outputs = {}
    for i420 in (False, True):      # the stages and sink a render uses, run here without threads
        stages = build_stages(config, engine, video=True, i420=i420)
        reset_stages(stages)
        path = tmp_path / f"manual-{i420}.mp4"
        with open_source(str(clip), audio=False) as source, open_sink(str(path), config.output, like=source) as sink:
            for frame in run_stages(stages, source.frames()):
                assert (frame.output_i420 is not None) == i420
                sink.write(frame)
        outputs[i420] = decode(path)
    reset_stages([engine])
    report = render(str(clip), str(tmp_path / "out.mp4"), config, progress=False, engine=engine)
    rendered = decode(tmp_path / "out.mp4")
    assert report.frames_written == len(rendered) == len(outputs[False]) == 6
    for got, i420, rgb in zip(rendered, outputs[True], outputs[False], strict=True):
        assert psnr(got, rgb) > 40
        # render() took the I420 path: the same frames (x264 is deterministic) as the stages built for it,
        # where the RGB path differs by ~44 dB.
        assert psnr(got, i420) > 60
    with av.open(str(tmp_path / "out.mp4")) as container:     # still tagged BT.601 limited range
        first = next(container.decode(video=0))
        assert (first.format.name, first.colorspace, first.color_range) == ("yuv420p", 5, 1)


@pytest.mark.parametrize("name", ["a.mov", "a.webm"])
def test_other_codecs_take_i420_output_too(tmp_path, matted, name):
    # ProRes isn't yuv420p: the sink converts I420 back to RGB. VP9 without alpha is: passed as is.
    composite, plain = Composite("blur", i420=True), Composite("blur")
    frames = [replace(matted, pts=i * 40, time_base=Fraction(1, 1000), index=i) for i in range(3)]
    with open_sink(str(tmp_path / name)) as sink:
        for frame in frames:
            sink.write(composite(frame))
    expected = plain(matted).output
    decoded = decode(tmp_path / name)
    assert len(decoded) == 3
    for got in decoded:
        assert psnr(got, expected) > 40
