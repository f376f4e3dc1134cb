"""Options that were removed stop with why, through the real CLI: never a silent default, nor only
argparse's "unrecognized arguments"."""
from __future__ import annotations

import pytest
from PIL import Image

from conftest import run_cli


@pytest.mark.parametrize("command, flag", [("stills", "--matting"), ("render", "--matting"), ("stills", "--matting=1")])
def test_matting_flag_says_it_was_removed_and_why(tmp_path, command, flag):
    Image.new("RGB", (64, 48), (200, 200, 200)).save(tmp_path / "in.png")
    target = tmp_path / ("out" if command == "stills" else "out.mp4")
    result = run_cli(command, tmp_path / "in.png", "-o", target, flag)
    assert result.returncode == 2, result.stderr
    assert "--matting was removed" in result.stderr and "closed-form matting" in result.stderr
    assert "unrecognized arguments" not in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("command", ["camera", "serve"])
def test_live_commands_say_it_too(command):
    """Parsed before anything opens a camera or a port: the flag stops the command first."""
    result = run_cli(command, "--matting")
    assert result.returncode == 2 and "--matting was removed" in result.stderr, result.stderr


def test_matting_flag_is_not_in_the_help():
    result = run_cli("stills", "--help", check=True)
    assert "--matting" not in result.stdout


def test_an_old_config_with_refine_quality_is_refused_by_the_cli(tmp_path):
    config = tmp_path / "old.toml"
    config.write_text('[refine]\nquality = "matting"\n')
    Image.new("RGB", (64, 48), (200, 200, 200)).save(tmp_path / "in.png")
    result = run_cli("stills", tmp_path / "in.png", "-o", tmp_path / "out", "--config", config)
    assert result.returncode == 2, result.stderr
    assert "old.toml" in result.stderr and "[refine] quality was removed" in result.stderr
    assert not (tmp_path / "out").exists()
