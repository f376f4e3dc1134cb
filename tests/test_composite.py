"""Backgrounds and compositing: every background kind puts what was asked behind the subject."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from livematte.config import load_config
from livematte.errors import ConfigError
from livematte.frame import Frame
from livematte.stages.backgrounds import parse_background
from livematte.stages.backgrounds.blur import BlurBackground
from livematte.stages.backgrounds.color import SolidBackground
from livematte.stages.backgrounds.gradient import GradientBackground
from livematte.stages.backgrounds.image import ImageBackground, fit_image
from livematte.stages.composite import Composite, over


def _frame(h: int = 180, w: int = 240, seed: int = 0) -> Frame:
    """A textured image with an elliptical 'person' in the middle; alpha is 0 near the borders."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.uint8)
    cv2.ellipse(alpha, (w // 2, h // 2), (w // 6, h // 4), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 2)
    return Frame(image=image, alpha=alpha)


def _far(frame: Frame) -> np.ndarray:
    """Pixels far from the person: alpha 0 within a 9-pixel neighbourhood."""
    return cv2.dilate(frame.alpha, np.ones((9, 9), np.uint8)) == 0


@pytest.mark.parametrize(
    "spec, colour",
    [
        ("color:#00ff00", (0, 255, 0)),
        ("white", (255, 255, 255)),
        ("black", (0, 0, 0)),
        ("#3366CC", (0x33, 0x66, 0xCC)),
        ("color:white", (255, 255, 255)),
    ],
)
def test_colour_background_far_from_the_person(spec, colour):
    frame = _frame()
    out = Composite(spec)(frame).output
    assert out.shape == frame.image.shape and out.dtype == np.uint8
    far = _far(frame)
    assert np.abs(out[far].astype(int) - colour).max() <= 1
    core = frame.alpha == 255
    assert np.array_equal(out[core], frame.image[core])


def test_colour_background_on_a_real_portrait(engine, shared):
    image = np.asarray(Image.open(shared / "testdata/stills_people/girl-2.jpg").convert("RGB"))
    out = Composite("color:#00ff00")(engine(Frame(image=image))).output
    # the portrait is centred: the top corners are background, now green
    assert np.abs(out[:10, :10].astype(int) - (0, 255, 0)).mean() < 10
    assert np.abs(out[:10, -10:].astype(int) - (0, 255, 0)).mean() < 10


def test_gradient_top_and_bottom_rows():
    frame = _frame()
    out = Composite("gradient:#ff0000,#0000ff")(frame).output
    assert np.abs(out[0].astype(int) - (255, 0, 0)).max() <= 1
    assert np.abs(out[-1].astype(int) - (0, 0, 255)).max() <= 1
    middle = out[frame.height // 2, :5].astype(int)
    assert np.abs(middle - (128, 0, 127)).max() <= 2  # halfway between, on the left border
    # monotonic from top to bottom
    assert np.all(np.diff(out[:, 0, 0].astype(int)) <= 0) and np.all(np.diff(out[:, 0, 2].astype(int)) >= 0)


def _circle_image(w: int = 320, h: int = 160) -> np.ndarray:
    image = np.full((h, w, 3), (0, 128, 0), np.uint8)
    cv2.circle(image, (w // 2, h // 2), 50, (255, 255, 255), -1)
    return image


def _blob_size(image: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero((image > 200).all(axis=2))
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


@pytest.mark.parametrize("fit", ["fill", "fit"])
def test_image_background_keeps_proportions(tmp_path, fit):
    path = tmp_path / "bg.png"
    Image.fromarray(_circle_image()).save(path)
    frame = _frame(h=300, w=200)  # portrait output for a landscape image: fill crops, fit letterboxes
    frame = Frame(image=frame.image, alpha=np.zeros_like(frame.alpha))
    out = Composite(f"image:{path}", fit)(frame).output
    assert out.shape == (300, 200, 3)
    width, height = _blob_size(out)
    assert abs(width - height) <= 2  # still a circle: no distortion
    if fit == "fill":
        assert abs(height - 300 * 100 / 160) <= 3  # scaled to cover the height
        assert (out[0].astype(int) - (0, 128, 0)).__abs__().max() <= 2  # no bars
    else:
        assert abs(width - 200 * 100 / 320) <= 3  # scaled to fit the width
        assert out[:40].max() == 0 and out[-40:].max() == 0  # black bars above and below


def test_fit_image_exact_geometry():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 100:] = 255  # left half black, right half white
    filled = fit_image(image, 300, 300, "fill")  # scale 3 → 600×300, centre crop 300 wide
    assert filled.shape == (300, 300, 3)
    assert filled[:, :145].max() == 0 and filled[:, 155:].min() == 255
    fitted = fit_image(image, 300, 300, "fit")  # scale 1.5 → 300×150, bars of 75 rows
    assert fitted[:74].max() == 0 and fitted[76:224, 155:].min() == 255 and fitted[226:].max() == 0


def test_blur_background_blurs_the_original_frame():
    h, w = 270, 480
    frame = _frame(h, w)
    frame = Frame(
        image=cv2.resize(frame.image[:30, :40], (w, h), interpolation=cv2.INTER_NEAREST),
        alpha=np.zeros((h, w), np.uint8),
    )  # blocky, high-contrast original; all background
    background = BlurBackground(20.0)
    out = Composite("blur:20")(frame).output
    assert np.array_equal(out, background.render(frame))
    sigma = 20.0 * h / 1080
    reference = cv2.GaussianBlur(frame.image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    assert np.abs(out.astype(int) - frame.image).mean() > 20  # differs from the sharp frame
    assert np.abs(out.astype(int) - reference).mean() < 3  # and is that frame, blurred
    sharp = np.abs(cv2.Laplacian(frame.image, cv2.CV_16S)).mean()
    smooth = np.abs(cv2.Laplacian(out, cv2.CV_16S)).mean()
    assert smooth < sharp / 20  # smooth: no blocks, no seams


def test_stronger_blur_is_smoother():
    frame = Frame(image=_frame(216, 384).image)
    weak, strong = BlurBackground(5).render(frame), BlurBackground(40).render(frame)
    assert (
        np.abs(np.diff(strong.astype(int), axis=1)).mean() < np.abs(np.diff(weak.astype(int), axis=1)).mean()
    )


def test_transparent_output_is_rgba_with_frame_alpha():
    frame = _frame()
    out = Composite("transparent")(frame).output
    assert out.shape == (*frame.alpha.shape, 4)
    assert np.array_equal(out[..., 3], frame.alpha)
    assert np.array_equal(out[..., :3], frame.image)


def test_foreground_is_used_when_set():
    frame = _frame()
    foreground = np.full_like(frame.image, 77)
    out = Composite("color:#000000")(
        Frame(image=frame.image, alpha=frame.alpha, foreground=foreground)
    ).output
    assert np.all(out[frame.alpha == 255] == 77)


def test_over_matches_the_float_formula():
    frame = _frame(seed=1)
    rng = np.random.default_rng(2)
    bg = rng.integers(0, 256, frame.image.shape, np.uint8)
    alpha = rng.integers(0, 256, frame.alpha.shape, np.uint8)
    a = alpha[..., None] / 255.0
    expected = frame.image * a + bg * (1 - a)
    assert np.abs(over(frame.image, bg, alpha).astype(float) - expected).max() <= 1.0


class _RingShadow:
    """A fixed shadow mask, standing in for stages/shadow.py (another module's job)."""

    def __init__(self, mask: np.ndarray):
        self._mask = mask

    def mask(self, alpha: np.ndarray) -> np.ndarray:
        return self._mask


def test_shadow_darkens_an_opaque_background():
    frame = _frame()
    mask = np.zeros_like(frame.alpha)
    mask[-20:] = 128  # a band of half shadow at the bottom
    out = Composite("white", shadow=_RingShadow(mask))(frame).output
    assert np.abs(out[-10:].astype(int) - 127).max() <= 1  # 255·(255-128)/255
    assert out[:10].min() == 255


def test_shadow_on_transparent_output_extends_alpha():
    frame = _frame()
    mask = np.full_like(frame.alpha, 100)
    out = Composite("transparent", shadow=_RingShadow(mask))(frame).output
    a = frame.alpha.astype(float)
    expected = a + 100 * (255 - a) / 255
    assert np.abs(out[..., 3] - expected).max() <= 1
    far, core = _far(frame), frame.alpha == 255
    assert out[..., :3][far].max() == 0  # the shadow layer is black
    assert np.array_equal(out[..., :3][core], frame.image[core])


def test_static_backgrounds_are_built_once_per_size():
    frame = _frame()
    for background in (SolidBackground((1, 2, 3)), GradientBackground((0, 0, 0), (255, 255, 255))):
        first, second = background.render(frame), background.render(frame)
        assert first is second and not first.flags.writeable
        assert background.render(_frame(90, 120)).shape == (90, 120, 3)


def test_composite_from_config_reads_the_background_section(tmp_path):
    config = load_config(overrides={"background": {"spec": "gradient:#000000,#ffffff"}})
    composite = Composite.from_config(config)
    assert isinstance(composite.background, GradientBackground) and composite.shadow is None


@pytest.mark.parametrize(
    "spec",
    [
        "colour:#12345",
        "color:red",
        "gradient:#000000",
        "blur:-3",
        "blur:lots",
        "sepia",
        "image:",
        "image:/no/such/file.png",
    ],
)
def test_bad_specs_name_the_spec(spec):
    with pytest.raises(ConfigError, match=repr(spec).replace("\\", "\\\\")[1:-1]):
        parse_background(spec)


def test_image_background_reads_through_the_still_reader(tmp_path):
    path = tmp_path / "bg.jpg"
    Image.fromarray(_circle_image()).save(path)
    assert isinstance(parse_background(f"image:{path}", "fit"), ImageBackground)
