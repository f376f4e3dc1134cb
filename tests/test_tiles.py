"""Very large stills: the model on a reduced copy, refinement and decontamination in tiles, the output
written a band of rows at a time (stages/tiles.py, studio.py). Real photos scaled up, real model."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.stages.tiles import MARGIN, TILE, coarse_for, tiles


@pytest.mark.parametrize("size", [(9000, 12000), (20000, 20000), (5000, 3000), (4096, 4097), (300, 200)])
def test_tile_cores_cover_the_image_once_and_windows_are_alike(size):
    h, w = size
    cover = np.zeros((min(h, 2000), min(w, 2000)), np.uint8) if max(h, w) <= 2000 else None
    count = np.zeros((h // 100 + 1, w // 100 + 1), np.int32)
    shapes = set()
    for t in tiles(h, w):
        (wy, wx), (cy, cx) = t.window, t.core
        shapes.add((wy.stop - wy.start, wx.stop - wx.start))
        assert 0 <= wy.start <= cy.start < cy.stop <= wy.stop <= h
        assert 0 <= wx.start <= cx.start < cx.stop <= wx.stop <= w
        for core, window, border in ((cy, wy, h), (cx, wx, w)):   # a core keeps MARGIN from a cut window edge
            assert core.start - window.start >= MARGIN or window.start == 0
            assert window.stop - core.stop >= MARGIN or window.stop == border
        assert (t.inner[0].start, t.inner[1].start) == (cy.start - wy.start, cx.start - wx.start)
        if cover is not None:
            cover[t.core] += 1
        count[cy.start // 100, cx.start // 100] += 1
    assert len(shapes) == 1 and max(next(iter(shapes))) <= TILE         # one window size: one set of radii
    if cover is not None:
        assert (cover == 1).all()
    total = sum((t.core[0].stop - t.core[0].start) * (t.core[1].stop - t.core[1].start) for t in tiles(h, w))
    assert total == h * w                                                  # cores partition the image


def test_coarse_for_a_window_is_the_whole_upsample_cut():
    coarse = np.random.default_rng(0).random((144, 256), dtype=np.float32)
    h, w = 9000, 12000
    whole = cv2.resize(coarse, (w // 8, h // 8), interpolation=cv2.INTER_LINEAR)
    window = (slice(2560, 2560 + TILE), slice(5120 - 768, 5120 - 768 + TILE))
    part = coarse_for(coarse, window, (h, w))
    expected = whole[2560 // 8:(2560 + TILE) // 8, (5120 - 768) // 8:(5120 - 768 + TILE) // 8]
    assert part.shape == expected.shape and np.abs(part - expected).max() < 1e-4


def _upscaled(shared, name: str, w: int, h: int) -> np.ndarray:
    photo = Image.open(shared / "testdata/stills_people" / name).convert("RGB")
    return np.asarray(photo.resize((w, h), Image.BILINEAR))


def test_tiled_stills_match_the_whole_image_path(tmp_path, shared):
    big = _upscaled(shared, "girl-2.jpg", 4800, 3200)        # 15 MP: two tile columns, one row
    (tmp_path / "in").mkdir()
    Image.fromarray(big).save(tmp_path / "in/big.png", compress_level=1)
    (tmp_path / "tiled.toml").write_text("[stills]\ntile_pixels = 10000000\n")
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "whole", "--no-progress", check=True)
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "tiled", "--no-progress", "--config", tmp_path / "tiled.toml",
            check=True)
    whole, tiled = (np.asarray(Image.open(tmp_path / d / "big.png")) for d in ("whole", "tiled"))
    assert tiled.shape == whole.shape == (3200, 4800, 4)
    a, b = whole[..., 3].astype(int), tiled[..., 3].astype(int)
    iou = ((a > 128) & (b > 128)).sum() / ((a > 128) | (b > 128)).sum()
    assert iou > 0.97 and np.abs(a - b).mean() < 3
    seam = np.abs(a - b)[:, 2560 - 8:2560 + 8].mean()       # where the first tile's core ends
    assert seam < 3 * np.abs(a - b).mean() + 1
    opaque = b == 255
    assert opaque.mean() > 0.1 and np.array_equal(tiled[..., :3][opaque], big[opaque])
    run_cli("stills", tmp_path / "in", "-o", tmp_path / "mask", "--mask-only", "--no-progress", "--config",
            tmp_path / "tiled.toml", check=True)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "mask/big.png")), tiled[..., 3])


def test_tiled_16_bit_tiff_on_white(tmp_path, shared):
    import tifffile

    deep = _upscaled(shared, "girl-1.jpg", 1600, 1200).astype(np.uint16) * 257 + 77
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb")
    (tmp_path / "tiled.toml").write_text("[stills]\ntile_pixels = 1000000\n")
    run_cli("stills", tmp_path / "deep.tif", "-o", tmp_path / "out", "-b", "white", "--no-progress",
            "--config", tmp_path / "tiled.toml", check=True)
    out = cv2.imread(str(tmp_path / "out/deep.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.shape == (1200, 1600, 3)
    assert (out[:5, :5] == 65535).all() and len(np.unique(out % 257)) > 2
