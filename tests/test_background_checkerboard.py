"""checkerboard: the transparency grid, from the spec through compositing and a real stills run."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.config import load_config
from livematte.errors import ConfigError
from livematte.frame import Frame
from livematte.stages import i420
from livematte.stages.backgrounds import parse_background
from livematte.stages.backgrounds.checkerboard import DARK, LIGHT, CheckerboardBackground
from livematte.stages.composite import Composite


def _frame(h: int = 64, w: int = 96) -> Frame:
    return Frame(image=np.full((h, w, 3), 7, np.uint8), alpha=np.zeros((h, w), np.uint8))


def test_squares_alternate_light_and_dark_at_the_asked_size():
    grid = parse_background("checkerboard:8").render(_frame())
    assert grid.shape == (64, 96, 3) and not grid.flags.writeable
    assert tuple(grid[0, 0]) == LIGHT and tuple(grid[0, 8]) == DARK and tuple(grid[8, 0]) == DARK
    assert tuple(grid[8, 8]) == LIGHT and tuple(grid[7, 7]) == LIGHT and tuple(grid[63, 95]) == LIGHT
    assert set(map(tuple, grid.reshape(-1, 3))) == {LIGHT, DARK}
    assert np.array_equal(grid[:8, :8], np.broadcast_to(np.array(LIGHT, np.uint8), (8, 8, 3)))


def test_default_square_and_i420_form():
    background = parse_background("checkerboard")
    assert isinstance(background, CheckerboardBackground) and background.square == 16
    frame = _frame()
    assert np.array_equal(background.render_i420(frame), i420.to_i420(background.render(frame)))


def test_composite_puts_the_grid_behind_the_subject():
    frame = _frame()
    alpha = frame.alpha.copy()
    alpha[20:40, 30:60] = 255
    out = Composite("checkerboard:4")(Frame(image=frame.image, alpha=alpha)).output
    assert out.shape == (64, 96, 3)
    assert (out[20:40, 30:60] == 7).all()                       # the subject
    assert tuple(out[0, 0]) == LIGHT and tuple(out[0, 4]) == DARK  # the grid around it


@pytest.mark.parametrize("spec", ["checkerboard:0", "checkerboard:big", "checkerboard:-4", "checkerboard:4096"])
def test_bad_sizes_name_the_spec(spec):
    with pytest.raises(ConfigError, match=spec):
        parse_background(spec)


def test_config_and_cli_know_it(tmp_path, shared):
    assert load_config(overrides={"background": {"spec": "checkerboard:12"}}).background.spec == "checkerboard:12"
    assert "checkerboard[:size]" in run_cli("render", "--help", check=True).stdout
    image = shared / "testdata/stills_people/girl-2.jpg"
    run_cli("stills", image, "-o", tmp_path / "out", "-b", "checkerboard", check=True)
    out = np.asarray(Image.open(tmp_path / "out/girl-2.png"))
    assert out.shape[2] == 3                                    # flattened: no alpha left
    corner = out[:16, :16].reshape(-1, 3).astype(int)           # the top corner is background: one light square
    assert np.abs(corner - LIGHT).max() <= 2
    assert np.abs(out[:16, 16:32].reshape(-1, 3).astype(int) - DARK).max() <= 2
