"""Never silently empty: quality flags on real photos and real models, the --report JSON, --strict, video."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.config import Config, QualityConfig, load_config
from livematte.errors import ConfigError
from livematte.quality import QualityCheck

PEOPLE = ["girl-1.jpg", "girl-2.jpg", "girl-3.jpg"]
MISSED = ["car-1.jpg", "car-2.jpg", "car-3.jpg", "plants-1.jpg"]   # the selfie model fails on these
RECORD_KEYS = {"input", "output", "status", "error", "coverage", "flags"}


@pytest.fixture(scope="module")
def people_report(tmp_path_factory, shared):
    out = tmp_path_factory.mktemp("people")
    # --model selfie: the person model alone, which misses the cars and plants (the default cuts them out)
    result = run_cli("stills", shared / "testdata/stills_people", "-o", out / "cut", "--report", out / "r.json",
                     "--no-progress", "--model", "selfie")
    return result, json.loads((out / "r.json").read_text())


def _by_name(report) -> dict[str, dict]:
    return {record["input"].rsplit("/", 1)[-1]: record for record in report["records"]}


def test_cars_and_plants_are_flagged_and_the_women_are_not(people_report):
    result, report = people_report
    records = _by_name(report)
    for name in MISSED:
        assert records[name]["flags"], f"{name} was missed by the selfie model and must be flagged"
    assert "empty" in records["plants-1.jpg"]["flags"] and records["plants-1.jpg"]["coverage"] < 0.01
    for name in PEOPLE:
        assert records[name]["flags"] == [], f"{name}: {records[name]}"
        assert 0.05 < records[name]["coverage"] < 0.5
    # The summary names each flagged file with its reason, and without --strict the batch still succeeds.
    assert result.returncode == 0
    for name in MISSED:
        assert any(line.startswith("FLAGGED") and name in line for line in result.stdout.splitlines())
    assert "plants-1.jpg" in result.stdout and "empty (coverage 0.000)" in result.stdout
    assert not any(name in line for line in result.stdout.splitlines() if "FLAGGED" in line for name in PEOPLE)


def test_report_schema(people_report, tmp_path, shared):
    _, report = people_report
    assert report["kind"] == "stills" and report["counts"]["done"] == 8 and len(report["records"]) == 8
    for record in report["records"]:
        assert RECORD_KEYS <= record.keys()
        assert record["status"] == "done" and record["error"] is None
        assert isinstance(record["coverage"], float) and 0.0 <= record["coverage"] <= 1.0
        assert isinstance(record["flags"], list) and all(isinstance(f, str) for f in record["flags"])
        assert record["output"].endswith(".png")
    # A rerun skips what exists and a bad file fails; both have records, with the error only on the failure.
    (tmp_path / "in").mkdir()
    (tmp_path / "in/broken.jpg").write_bytes(b"not a jpeg")
    Image.open(shared / "testdata/stills_people/girl-2.jpg").save(tmp_path / "in/girl.jpg")
    run_cli("stills", tmp_path / "in/girl.jpg", "-o", tmp_path / "out", "--report", tmp_path / "first.json",
            "--no-progress", check=True)
    first = _by_name(json.loads((tmp_path / "first.json").read_text()))["girl.jpg"]
    result = run_cli("stills", tmp_path / "in", "-o", tmp_path / "out", "--report", tmp_path / "r.json",
                     "--no-progress")
    assert result.returncode == 1
    records = _by_name(json.loads((tmp_path / "r.json").read_text()))
    assert records["girl.jpg"]["status"] == "skipped" and records["girl.jpg"]["error"] is None
    # The kept output is checked again from the file (its alpha): same coverage, same flags, same facts.
    for key in ("coverage", "flags", "size", "fill", "box"):
        assert records["girl.jpg"][key] == first[key], key
    assert records["broken.jpg"]["status"] == "failed" and "broken.jpg" in records["broken.jpg"]["error"]
    assert not list(tmp_path.glob(".r.json.*"))    # written through a temporary file, none left


def test_strict_fails_the_batch_on_a_flag(tmp_path, shared):
    people = shared / "testdata/stills_people"
    ok = run_cli("stills", people / "girl-3.jpg", "-o", tmp_path / "a", "--strict", "--no-progress")
    assert ok.returncode == 0 and "FLAGGED" not in ok.stdout
    bad = run_cli("stills", people / "girl-3.jpg", people / "plants-1.jpg", "-o", tmp_path / "b", "--strict",
                  "--report", tmp_path / "r.json", "--no-progress", "--model", "selfie")
    assert bad.returncode == 1
    assert "fail the batch (--strict)" in bad.stdout and "plants-1.jpg" in bad.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is False and report["strict"] is True and report["counts"]["flagged"] == 1


def _matte(engine, shared, name):
    image = np.asarray(Image.open(shared / "testdata/stills_people" / name).convert("RGB"))
    return image, engine.matte(image)


@pytest.mark.parametrize("second_model", ["selfie_landscape", "sinet"])
def test_model_disagreement_takes_any_second_model(engine, shared, second_model):
    from livematte.engine import load_engine

    check = QualityCheck(QualityConfig(), second=load_engine(second_model))
    image, alpha = _matte(engine, shared, "car-3.jpg")
    verdict = check.assess(alpha, image=image)
    assert "model_disagreement" in verdict.flags and verdict.measures["agreement"] < 0.1
    image, alpha = _matte(engine, shared, "girl-3.jpg")
    verdict = check.assess(alpha, image=image)
    assert "model_disagreement" not in verdict.flags and verdict.measures["agreement"] > 0.8


def test_second_model_on_the_command_line(tmp_path, shared):
    people = shared / "testdata/stills_people"
    result = run_cli("stills", people / "girl-1.jpg", people / "car-2.jpg", "-o", tmp_path / "o",
                     "--second-model", "selfie_landscape", "--report", tmp_path / "r.json", "--no-progress")
    records = _by_name(json.loads((tmp_path / "r.json").read_text()))
    assert "model_disagreement" in records["car-2.jpg"]["flags"]
    assert records["girl-1.jpg"]["flags"] == []
    assert "IoU" in result.stdout


def test_background_kept_and_fragmented_on_real_mattes(engine, shared):
    check = QualityCheck(QualityConfig())
    _, alpha = _matte(engine, shared, "girl-2.jpg")
    assert check.assess(alpha).flags == ()
    # The matte inverted keeps the background: it touches the whole border.
    inverted = check.assess(255 - alpha)
    assert "background_kept" in inverted.flags and inverted.measures["border"] > 0.9
    # Cut into a grid of pieces by transparent lines: many disconnected pieces.
    grid = alpha.copy()
    h, w = grid.shape
    grid[:, np.arange(w) % (w // 8) < w // 40] = 0
    grid[np.arange(h) % (h // 8) < h // 40] = 0
    cut = check.assess(grid)
    assert "fragmented" in cut.flags and cut.measures["pieces"] > QualityConfig().max_pieces
    # An identical second alpha agrees.
    assert check.assess(alpha, second_alpha=alpha.copy()).measures["agreement"] == 1.0


def test_the_feather_level_moves_the_low_confidence_threshold(engine, shared):
    _, alpha = _matte(engine, shared, "car-1.jpg")
    middling = QualityCheck(QualityConfig()).assess(alpha).measures["middling"]
    config = QualityConfig(max_middling=[middling + 0.01, middling - 0.01, 0.5, 0.5])
    assert "low_confidence" not in QualityCheck(config, feather=0).assess(alpha).flags
    assert "low_confidence" in QualityCheck(config, feather=1).assess(alpha).flags


def test_quality_config_is_validated(tmp_path):
    assert load_config(None).quality == Config().quality
    bad = tmp_path / "bad.toml"
    bad.write_text("[quality]\nmax_middling = [0.1, 0.2]\n")
    with pytest.raises(ConfigError, match=r"\[quality\].*max_middling"):
        load_config(bad)
    bad.write_text("[quality]\nmin_coverage = 2.0\n")
    with pytest.raises(ConfigError, match="min_coverage"):
        load_config(bad)


def test_render_reports_flagged_frames(tmp_path, shared):
    # gym: two small basketball players who leave the frame; the selfie model loses them for whole stretches.
    result = run_cli("render", shared / "testdata/videos/gym_426x240.mp4", "-o", tmp_path / "gym.mp4",
                     "--report", tmp_path / "r.json", "--no-progress", check=True)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["kind"] == "render" and report["frames_checked"] == report["frames_written"] == 300
    empty = report["flagged_frames"]["empty"]
    assert 50 < len(empty) < 300 and empty == sorted(empty)
    assert 150 in empty          # coverage 0.000 there (measured)
    line = next(line for line in result.stderr.splitlines() if line.startswith("quality:"))
    assert f"empty {len(empty)} (frames {empty[0]}," in line


def test_a_resumed_batch_still_flags_what_an_earlier_run_wrote(tmp_path, shared):
    plants = shared / "testdata/stills_people/plants-1.jpg"
    # --model selfie: the person model alone leaves the plants empty (the stills default cuts them out)
    run_cli("stills", plants, "-o", tmp_path / "o", "--mask-only", "--no-progress", "--model", "selfie", check=True)
    again = run_cli("stills", plants, "-o", tmp_path / "o", "--mask-only", "--strict", "--no-progress",
                    "--model", "selfie")
    assert "skipped 1" in again.stdout and "plants-1.png: empty" in again.stdout.replace(
        str(tmp_path / "o") + "/", "")
    assert again.returncode == 1      # --strict counts a kept output's flags too
