"""The product-photo stages on real photos: colour correction, denoising, matte repair, the pure-white
check of a written JPEG, framing's placement, and where the plan puts them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from livematte.config import ColorConfig, DenoiseConfig, FramingConfig, PureWhiteConfig, RepairConfig, load_config
from livematte.errors import ConfigError, OutputError
from livematte.frame import Frame
from livematte.sinks.images import write_image
from livematte.stages.color import ColorCorrect
from livematte.stages.denoise import Denoise
from livematte.stages.framing import place, subject_box
from livematte.stages.pure_white import check_written, content_band
from livematte.stages.repair import Repair


@pytest.fixture(scope="module")
def photo(shared) -> np.ndarray:
    return np.asarray(Image.open(shared / "testdata/alphamatting/input/GT05.png").convert("RGB"))


@pytest.fixture(scope="module")
def true_alpha(shared) -> np.ndarray:
    return np.asarray(Image.open(shared / "testdata/alphamatting/gt/GT05.png").convert("L"))


@pytest.mark.parametrize("method", ["lab", "greyworld"])
def test_colour_correction_removes_a_cast(photo, method):
    cast = cv2.transform(photo, np.diag([1.0, 0.9, 0.7]).astype(np.float32))  # a warm (tungsten-like) cast
    fixed = ColorCorrect(ColorConfig(method=method))(Frame(image=cast)).image

    def imbalance(image):
        r, g, b = (image[..., i].mean() for i in range(3))
        return abs(r - g) + abs(b - g)

    assert imbalance(fixed) < 0.5 * imbalance(cast)
    assert imbalance(fixed) < imbalance(photo)  # grey world also flattens the photo's own balance
    assert ColorCorrect(ColorConfig(method=method, strength=0.0))(Frame(image=cast)).image.shape == cast.shape


@pytest.mark.parametrize("method", ["bilateral", "nlmeans"])
def test_denoise_brings_a_noisy_photo_back_towards_the_clean_one(photo, method):
    rng = np.random.default_rng(1)
    noisy = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    clean = Denoise(DenoiseConfig(method=method, strength=8.0))(Frame(image=noisy)).image
    error = lambda image: np.abs(image.astype(int) - photo).mean()  # noqa: E731
    assert error(clean) < 0.75 * error(noisy)


def test_repair_removes_specks_fills_pinholes_and_keeps_real_holes(true_alpha):
    damaged = true_alpha.copy()
    h, w = damaged.shape
    ys, xs = np.nonzero(true_alpha == 0)
    far = (ys < 40) & (xs < 40)
    assert far.any()
    cv2.circle(damaged, (20, 20), 3, 255, -1)                       # a speck on the background
    inside = np.argwhere(cv2.erode(true_alpha, np.ones((25, 25), np.uint8)) == 255)
    cy, cx = inside[len(inside) // 2]
    cv2.circle(damaged, (int(cx), int(cy)), 3, 0, -1)               # a pinhole in the product
    repaired = Repair(RepairConfig(enabled=True))(Frame(image=np.zeros((h, w, 3), np.uint8), alpha=damaged)).alpha
    assert repaired[20, 20] == 0 and repaired[cy, cx] == 255
    # The rest of the true matte is untouched: real holes and soft edges stay.
    assert np.abs(repaired.astype(int) - true_alpha).mean() < np.abs(damaged.astype(int) - true_alpha).mean()
    assert (repaired != true_alpha).sum() <= (damaged != true_alpha).sum()
    choked = Repair(RepairConfig(enabled=True, islands=0, pinholes=0, choke=2)).repair(true_alpha)
    assert (choked <= true_alpha).all() and (choked > 8).sum() < (true_alpha > 8).sum()


def test_pure_white_check_rewrites_a_jpeg_whose_white_leaked(tmp_path, photo, true_alpha):
    # A 4:2:0 JPEG at low quality smears chroma past the subject's blocks; the check writes it again.
    white = np.full_like(photo, 255)
    a3 = cv2.cvtColor(true_alpha, cv2.COLOR_GRAY2RGB).astype(np.float32) / 255
    pixels = (photo * a3 + white * (1 - a3) + 0.5).astype(np.uint8)
    path = tmp_path / "out.jpg"
    write_image(path, pixels, quality=30)
    qualities = []

    def rewrite(quality):
        qualities.append(quality)
        write_image(path, pixels, quality=quality)

    result = check_written(path, pixels, PureWhiteConfig(enabled=True), rewrite)
    decoded = np.asarray(Image.open(path).convert("RGB"))
    outside = content_band(pixels, 7) == 0
    assert (decoded[outside] == 255).all()
    assert result == 100 and qualities == [100]  # 4:2:0 leaked past the band (1039 pixels here)
    with pytest.raises(OutputError, match="out.jpg"):
        # With no band at all even quality 100 rings somewhere: an error naming the file.
        check_written(path, pixels, PureWhiteConfig(enabled=True, band=0), rewrite)


def test_placement_fill_margin_align():
    box = (100, 50, 300, 150)  # 200 × 100
    centre = place(box, (1000, 1000), FramingConfig(canvas="1000x1000", fill=0.8))
    assert centre.scale == pytest.approx(2.0) and centre.wanted == pytest.approx(4.0)  # max_upscale 2
    roomy = place(box, (1000, 1000), FramingConfig(canvas="1000x1000", fill=0.8, max_upscale=8))
    assert roomy.scale == pytest.approx(4.0) and roomy.wanted == pytest.approx(4.0)
    assert roomy.x + 4 * 100 == 100 and roomy.y + 4 * 50 == 300     # box lands at (100, 300)-(900, 700)
    bottom = place(box, (1000, 1000), FramingConfig(canvas="1000x1000", fill=0.5, align="bottom", margin=0.1,
                                                                 max_upscale=8))
    assert bottom.y + 2.5 * 150 == pytest.approx(900, abs=1)          # its bottom on the 10 % margin
    tight = place(box, (1000, 1000), FramingConfig(canvas="1000x1000", fill=1.0, margin=0.2, max_upscale=8))
    assert tight.scale == pytest.approx(3.0)                          # 600 px of room for 200 px
    alpha = np.zeros((50, 60), np.uint8)
    alpha[10:20, 5:15] = 200
    alpha[0, 0] = 8  # invisible: not part of the box
    assert subject_box(alpha) == (5, 10, 15, 20)
    assert subject_box(np.zeros((4, 4), np.uint8)) is None


def test_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    for text, match in [("[framing]\ncanvas = '10x10'\n", r"\[framing\] canvas = '10x10'"),
                        ("[framing]\nalign = 'top'\n", r"align = 'top'"),
                        ("[framing]\nfill = 1.5\n", r"fill = 1.5"),
                        ("[denoise]\nmethod = 'median'\n", r"method = 'median'"),
                        ("[repair]\nchoke = 20\n", r"choke = 20")]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_config(bad)


def test_presets_name_what_they_set():
    amazon, shop = load_config("amazon"), load_config("shop")
    assert amazon.framing.canvas == "2000x2000" and amazon.framing.fill == 0.85
    assert amazon.stills.format == "jpg" and amazon.pure_white.enabled and amazon.background.spec == "white"
    assert shop.framing.canvas == "2048x2048" and shop.shadow.kind == "contact"


def test_the_plan_puts_each_stage_in_its_place(engine):
    from livematte.stages import build_stages
    from livematte.stages.product import add_product_stages

    config = load_config("shop")
    config = config.__class__(**{**config.__dict__,
                                 "color": ColorConfig(method="lab"), "denoise": DenoiseConfig(method="bilateral")})
    stages = add_product_stages(build_stages(config, engine, video=False), config)
    names = [type(stage).__name__ for stage in stages]
    assert names[:2] == ["ColorCorrect", "Denoise"]
    assert names.index("Repair") == names.index("Refine") + 1
    assert names[-3:] == ["Framing", "SnapAlpha", "Composite"]
    assert stages[-1].shadow.room_below
