"""The marketplace presets on the real alphamatting stills, checked on the decoded files written:
the size, the product's fill, and a background that is exactly 255 outside a 7-pixel band (one JPEG
block) around the product and its shadow."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.config import load_config
from livematte.stages.pure_white import content_band
from livematte.stages.shadow import ContactShadow

BAND = 7
PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs" / "presets"


def _run(inputs, out: Path, *extra: str) -> set[str]:
    """Run the batch; the names of the files that were held back by max_upscale (their warnings)."""
    result = run_cli("stills", *inputs, "-o", out, "--no-progress", *extra, check=True)
    assert "failed 0" in result.stdout, result.stdout
    return {Path(line.split(": ")[0].split()[-1]).stem for line in result.stderr.splitlines()
            if "max_upscale" in line}


PRESETS = [("amazon", 2000, 0.85), ("shop", 2048, 0.80)]


@pytest.mark.parametrize("preset, side, fill", PRESETS)
def test_preset_white_fill_and_size(tmp_path, shared, preset, side, fill):
    """All 14 stills, on the small selfie model so the whole set stays quick: the framing, the white and
    the size do not depend on which model made the matte."""
    inputs = sorted((shared / "testdata/alphamatting/input").glob("*.png"))
    assert len(inputs) == 14
    held_back = _run(inputs, tmp_path / "cut", "--config", preset, "--model", "selfie",
                     "--report", tmp_path / "report.json")
    assert _run(inputs, tmp_path / "mask", "--config", preset, "--model", "selfie", "--mask-only") == held_back
    # The selfie model finds only part of a few products; those are the warned ones.
    assert len(held_back) <= 3
    _check(tmp_path, preset, side, fill, [p.stem for p in inputs], held_back)
    # The batch report measures the same on the written files: pure white, the fill, the size.
    # With a shadow (shop) the background is not all white, and the report says so.
    shadowless = load_config(preset).shadow.kind == "none"
    records = json.loads((tmp_path / "report.json").read_text())["records"]
    assert len(records) == 14
    for record in records:
        name = Path(record["input"]).stem
        assert record["size"] == [side, side] and record["pure_background"] is shadowless, record
        assert name in held_back or abs(record["fill"] - fill) <= 0.002, record


@pytest.mark.parametrize("preset, side, fill", PRESETS)
def test_preset_with_its_own_model(tmp_path, shared, isnet_home, preset, side, fill):
    """The preset as a seller runs it, with the stills default's models, on three stills (a flower, a toy, a
    mesh cup); the preset names no model of its own: [engine] model, which stills do not read, is not set."""
    assert "model" not in tomllib.loads((PRESETS_DIR / f"{preset}.toml").read_text()).get("engine", {})
    inputs = [shared / f"testdata/alphamatting/input/{name}.png" for name in ("GT01", "GT05", "GT25")]
    assert _run(inputs, tmp_path / "cut", "--config", preset) == set()   # no product needs > 4× here
    assert _run(inputs, tmp_path / "mask", "--config", preset, "--mask-only") == set()
    _check(tmp_path, preset, side, fill, [p.stem for p in inputs], set())


def _check(tmp_path: Path, preset: str, side: int, fill: float, names: list[str], held_back: set[str]) -> None:
    config = load_config(preset)
    shadow = ContactShadow(config.shadow, room_below=True) if config.shadow.kind == "contact" else None
    for name in names:
        written = tmp_path / "cut" / f"{name}.jpg"
        with Image.open(written) as image:
            assert image.format == "JPEG" and image.size == (side, side), name
            decoded = np.asarray(image.convert("RGB"))
        alpha = np.asarray(Image.open(tmp_path / "mask" / f"{name}.png"))
        assert alpha.shape == (side, side)
        # Fill: the visible product's box, longer side, against the canvas side.
        x, y, w, h = cv2.boundingRect(cv2.findNonZero((alpha >= 26).astype(np.uint8)))
        if name in held_back:
            assert max(w, h) < fill * side - 2, name
        else:
            assert abs(max(w, h) - fill * side) <= 3, (name, w, h)   # resampling moves each edge ±1
        assert abs((x + w / 2) - side / 2) <= 2 and abs((y + h / 2) - side / 2) <= 2, name
        # Exact white: anything the subject (alpha > 0) or its shadow touches, widened by one JPEG block.
        covered = alpha.copy()
        if shadow is not None:
            cast = shadow.mask(alpha)
            covered = cv2.max(covered, cast)
            _shadow_fits_on_the_canvas(cast, name)
        band = content_band(cv2.bitwise_not(covered), BAND)
        outside = band == 0
        assert outside.mean() > 0.2, name  # most of the canvas is background
        assert (decoded[outside] == 255).all(), (name, int((decoded[outside] < 255).any(-1).sum()))


def _shadow_fits_on_the_canvas(cast: np.ndarray, name: str) -> None:
    assert cast.max() > 40, name                     # there is a visible shadow
    assert cast[-1].max() == 0, name                 # it fades out before the canvas edge, not cut off


def test_shop_shadow_lies_under_the_product(tmp_path, shared):
    source = shared / "testdata/alphamatting/input/GT05.png"
    run_cli("stills", source, "-o", tmp_path / "cut", "--config", "shop", "--model", "selfie", "--no-progress",
            check=True)
    run_cli("stills", source, "-o", tmp_path / "plain", "--config", "shop", "--model", "selfie", "--shadow", "none",
            "--no-progress",
            check=True)
    cut = np.asarray(Image.open(tmp_path / "cut/GT05.jpg").convert("L")).astype(int)
    plain = np.asarray(Image.open(tmp_path / "plain/GT05.jpg").convert("L")).astype(int)
    darker = (plain - cut) > 8
    rows = np.flatnonzero(darker.any(axis=1))
    assert rows.size and rows.min() > 1024  # below the middle: under the product, not beside it
    assert (cut[-BAND - 1:] == 255).all()   # the bottom rows stay pure white


def test_knobs_on_their_own_and_the_upscale_warning(tmp_path, shared):
    source = shared / "testdata/alphamatting/input/GT01.png"
    result = run_cli("stills", source, "-o", tmp_path / "a", "--mask-only", "--canvas", "1200x800",
                     "--fill", "0.9", "--align", "bottom", "--margin", "0.05", "--max-upscale", "1.1",
                     "--no-progress", check=True)
    assert "GT01.png" in result.stderr and "max_upscale" in result.stderr
    alpha = np.asarray(Image.open(tmp_path / "a/GT01.png"))
    assert alpha.shape == (800, 1200)
    x, y, w, h = cv2.boundingRect(cv2.findNonZero((alpha >= 26).astype(np.uint8)))
    assert abs(y + h - (800 - 40)) <= 1          # stands on the 5 % bottom margin
    assert max(w / 1200, h / 800) < 0.9          # held back by --max-upscale
    square = run_cli("stills", source, "-o", tmp_path / "b", "--mask-only", "--canvas", "square", "--fill",
                     "0.5", "--no-progress", check=True)
    assert "max_upscale" not in square.stderr
    side = max(Image.open(source).size)
    assert Image.open(tmp_path / "b/GT01.png").size == (side, side)
    bad = run_cli("stills", source, "-o", tmp_path / "c", "--canvas", "big")
    assert bad.returncode != 0 and "canvas = 'big'" in bad.stderr and not (tmp_path / "c").exists()
    no_white = run_cli("stills", source, "-o", tmp_path / "d", "--pure-white", "--background", "black")
    assert no_white.returncode != 0 and "[pure_white]" in no_white.stderr
