"""Issue 12, case 8: one pixel limit, [input] max_pixels, for stills, video frames and uploads (the uploads
are in test_serve_security.py), refused before the frame is decoded where the format allows."""
from __future__ import annotations

from PIL import Image

from conftest import run_cli
from media import make_clip

LIMIT_TOML = "[input]\nmax_pixels = 100000\n"      # 400×250 is allowed, 400×300 is not


def test_render_refuses_frames_above_the_limit_naming_the_key(tmp_path):
    config = tmp_path / "limit.toml"
    config.write_text(LIMIT_TOML)
    small = make_clip(tmp_path / "small.mp4", frames=3, size=(400, 250))
    big = make_clip(tmp_path / "big.mp4", frames=3, size=(400, 300))
    result = run_cli("render", big, "-o", tmp_path / "big_out.mp4", "--config", config, "--no-progress")
    assert result.returncode != 0
    assert "400×300 = 120,000 pixels" in result.stderr and "[input] max_pixels = 100,000" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "big_out.mp4").exists()
    result = run_cli("render", small, "-o", tmp_path / "small_out.mp4", "--config", config, "--no-progress")
    assert result.returncode == 0, result.stderr


def test_stills_use_the_same_key(tmp_path):
    config = tmp_path / "limit.toml"
    config.write_text(LIMIT_TOML)
    Image.new("RGB", (400, 300), (200, 200, 200)).save(tmp_path / "big.png")
    result = run_cli("stills", tmp_path / "big.png", "-o", tmp_path / "out", "--config", config, "--no-progress")
    assert result.returncode != 0
    assert "[input] max_pixels" in result.stdout + result.stderr


def test_the_old_stills_key_says_where_the_limit_went(tmp_path):
    config = tmp_path / "old.toml"
    config.write_text("[stills]\nmax_pixels = 100000\n")
    result = run_cli("stills", tmp_path, "-o", tmp_path / "out", "--config", config)
    assert result.returncode == 2
    assert "[stills] max_pixels is now [input] max_pixels" in result.stderr
