"""The stills batch as a user runs it: `livematte stills INPUT... -o OUTDIR` on real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from livematte.errors import OutputError
from livematte.stills import output_path

PEOPLE = ["girl-1.jpg", "girl-2.jpg", "girl-3.jpg"]


def test_model_choice_and_bad_options(tmp_path, shared):
    image = shared / "testdata/stills_people/girl-2.jpg"
    run_cli("stills", image, "-o", tmp_path / "a", "--mask-only", "--feather", "0", check=True)
    run_cli(
        "stills",
        image,
        "-o",
        tmp_path / "b",
        "--mask-only",
        "--feather",
        "0",
        "--model",
        "selfie_landscape",
        check=True,
    )
    default, landscape = (np.asarray(Image.open(tmp_path / f"{d}/girl-2.png")) for d in "ab")
    assert not np.array_equal(default, landscape)  # a different model ran
    assert (
        landscape[:10, :10].mean() < 50 and landscape[landscape.shape[0] // 2, landscape.shape[1] // 2] > 200
    )
    unknown = run_cli("stills", image, "-o", tmp_path / "c", "--model", "nosuch")
    assert unknown.returncode == 2 and "unknown model 'nosuch'" in unknown.stderr
    bad = run_cli("stills", image, "-o", tmp_path / "d", "--background", "gradient:#fff")
    assert bad.returncode == 2 and "gradient:#fff" in bad.stderr and not (tmp_path / "d").exists()


def _tree(tmp_path: Path, shared: Path) -> Path:
    """in/girl-1.jpg, in/sub/girl-2.jpg, in/sub/deeper/girl-3.jpg: real photos in a small tree."""
    root = tmp_path / "in"
    for name, rel in zip(PEOPLE, ["", "sub", "sub/deeper"], strict=True):
        (root / rel).mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / "testdata/stills_people" / name, root / rel / name)
    return root


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_stills_people_rgba_alpha_matches_the_engine(tmp_path, shared, engine):
    source = shared / "testdata/stills_people"
    # --model: one model alone (the default pairs IS-Net with it; tests/test_subject.py covers that)
    result = run_cli("stills", source, "-o", tmp_path / "out", "--feather", "0", "--workers", "2",
                     "--model", "selfie", check=True)
    assert "done 8, skipped 0" in result.stdout and "failed 0" in result.stdout
    for path in sorted(source.glob("*.jpg")):
        out = Image.open(tmp_path / "out" / f"{path.stem}.png")
        assert out.mode == "RGBA" and out.size == Image.open(path).size
        pixels = np.asarray(out)
        # decontamination may change colour near edges, never the alpha; with feather 0 alpha is the engine's
        assert np.abs(pixels[..., 3].astype(int) - engine.matte(_rgb(path))).max() <= 1, path.name


def test_default_pipeline_and_a_flattened_background(tmp_path, shared):
    image = shared / "testdata/stills_people/girl-2.jpg"
    run_cli("stills", image, "-o", tmp_path / "out", "--background", "#00ff00", "--format", "jpg", check=True)
    out = _rgb(tmp_path / "out/girl-2.jpg")
    assert out.shape == _rgb(image).shape
    assert np.abs(out[:10, :10].astype(int) - (0, 255, 0)).mean() < 12  # the top corner is background
    run_cli(
        "stills",
        image,
        "-o",
        tmp_path / "bg",
        "--background",
        shared / "testdata/stills_people/car-1.jpg",
        "--format",
        "webp",
        check=True,
    )
    assert Image.open(tmp_path / "bg/girl-2.webp").mode == "RGB"


def test_output_mirrors_the_input_tree_and_resumes(tmp_path, shared):
    root = _tree(tmp_path, shared)
    out = tmp_path / "out"
    first = run_cli("stills", root, "-o", out, "--mask-only", check=True)
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["girl-1.png", "sub/deeper/girl-3.png", "sub/girl-2.png"]
    assert "done 3" in first.stdout
    assert Image.open(out / "sub/girl-2.png").mode == "L"
    # resume: existing outputs are skipped and left as they are
    marker = out / "sub/girl-2.png"
    marker.write_bytes(b"placeholder")
    second = run_cli("stills", root, "-o", out, "--mask-only", check=True)
    assert "done 0, skipped 3" in second.stdout and marker.read_bytes() == b"placeholder"
    (out / "girl-1.png").unlink()  # an interrupted batch
    third = run_cli("stills", root, "-o", out, "--mask-only", check=True)
    assert "done 1, skipped 2" in third.stdout and (out / "girl-1.png").is_file()
    fourth = run_cli("stills", root, "-o", out, "--mask-only", "--overwrite", check=True)
    assert "done 3, skipped 0" in fourth.stdout and Image.open(marker).mode == "L"


def _bad_inputs(folder: Path, shared: Path) -> None:
    data = (shared / "testdata/stills_people/girl-1.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 4])
    (folder / "noise.png").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    from test_images import _png_header

    _png_header(folder / "huge.png", 90_000, 90_000)


def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path, shared):
    root = _tree(tmp_path, shared)
    _bad_inputs(root / "sub", shared)
    notes = tmp_path / "notes.txt"
    notes.write_text("an unsupported file named explicitly")
    (root / "readme.txt").write_text("left alone inside a folder")
    missing = tmp_path / "missing.jpg"
    result = run_cli("stills", root, notes, missing, root, "-o", tmp_path / "out")  # root twice: taken once
    assert result.returncode == 1, result.stderr
    assert "done 3, skipped 0 (output exists), failed 5" in result.stdout
    failed = {
        line.split(": ", 1)[0].removeprefix("FAILED "): line
        for line in result.stdout.splitlines()
        if line.startswith("FAILED ")
    }
    assert set(failed) == {
        str(root / "sub/truncated.jpg"),
        str(root / "sub/noise.png"),
        str(root / "sub/huge.png"),
        str(notes),
        str(missing),
    }
    assert "truncated" in failed[str(root / "sub/truncated.jpg")]
    assert (
        "8,100,000,000 pixels" in failed[str(root / "sub/huge.png")]
        or "bomb" in failed[str(root / "sub/huge.png")]
    )
    assert "left alone 1 non-image" in result.stdout
    assert all(
        (tmp_path / "out" / rel).is_file()
        for rel in ("girl-1.png", "sub/girl-2.png", "sub/deeper/girl-3.png")
    )
    assert not (tmp_path / "out/sub/truncated.png").exists()


def test_inputs_are_never_overwritten(tmp_path, shared):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.open(shared / "testdata/stills_people/girl-1.jpg").save(folder / "portrait.png")
    original = (folder / "portrait.png").read_bytes()
    same_folder = run_cli("stills", folder, "-o", folder)
    assert same_folder.returncode != 0 and "input folder" in same_folder.stderr
    same_file = run_cli("stills", folder / "portrait.png", "-o", folder)
    assert same_file.returncode == 1 and "is an input file" in same_file.stdout
    assert (folder / "portrait.png").read_bytes() == original
    # an output folder inside the input folder: earlier outputs are never taken as new inputs
    run_cli("stills", folder, "-o", folder / "cut", check=True)
    again = run_cli("stills", folder, "-o", folder / "cut", "--overwrite", check=True)
    assert "done 1" in again.stdout and not (folder / "cut/cut").exists()
    assert (folder / "portrait.png").read_bytes() == original


def test_output_escaping_outdir_is_refused(tmp_path, shared):
    root = _tree(tmp_path, shared)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)  # out/sub → a folder outside OUTDIR
    result = run_cli("stills", root, "-o", out, "--mask-only")
    assert result.returncode == 1
    assert f"FAILED {root / 'sub/girl-2.jpg'}" in result.stdout and "outside" in result.stdout
    assert list(elsewhere.rglob("*")) == [] and (out / "girl-1.png").is_file()
    with pytest.raises(OutputError, match="escape"):
        output_path(out, Path("../x.jpg"), ".png")
    with pytest.raises(OutputError, match="escape"):
        output_path(out, Path("/etc/x.jpg"), ".png")


def test_image_with_alpha_keeps_its_transparent_parts(tmp_path, shared):
    image = np.asarray(Image.open(shared / "testdata/stills_people/girl-2.jpg").convert("RGBA")).copy()
    h, w = image.shape[:2]
    image[h // 2 : h // 2 + 12, :, 3] = 0  # a band across the person was already cut away
    Image.fromarray(image, "RGBA").save(tmp_path / "band.png")
    run_cli("stills", tmp_path / "band.png", "-o", tmp_path / "out", check=True)
    alpha = np.asarray(Image.open(tmp_path / "out/band.png"))[..., 3]
    assert alpha[h // 2 : h // 2 + 12].max() == 0  # stays transparent, person or not
    assert (
        alpha[h // 2 - 40, w // 2] > 200 and alpha[h // 2 + 50, w // 2] > 200
    )  # the person around it is kept


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred & truth).sum() / max(1, (pred | truth).sum()))


def test_mask_only_on_davis_matches_the_raw_model(tmp_path, shared, engine, artifacts):
    davis = shared / "testdata/davis"
    frames = sorted((davis / "JPEGImages/parkour").glob("*.jpg"))[::5][:20]
    folder = tmp_path / "frames"
    folder.mkdir()
    for path in frames:
        (folder / path.name).symlink_to(path)
    # the person model alone (`engine`), whose raw output this compares with
    run_cli("stills", folder, "-o", tmp_path / "raw", "--mask-only", "--feather", "0", "--model", "selfie", check=True)
    run_cli("stills", folder, "-o", tmp_path / "refined", "--mask-only", "--feather", "1", "--model", "selfie",
            check=True)
    raw, pipeline, refined = [], [], []
    for path in frames:
        truth = np.asarray(Image.open(davis / "Annotations/parkour" / f"{path.stem}.png").convert("L")) > 127
        image = _rgb(path)
        prob = cv2.resize(
            engine.infer([image])[0], (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR
        )
        raw.append(_iou(prob > 0.5, truth))
        pipeline.append(_iou(np.asarray(Image.open(tmp_path / "raw" / f"{path.stem}.png")) >= 128, truth))
        refined.append(_iou(np.asarray(Image.open(tmp_path / "refined" / f"{path.stem}.png")) >= 128, truth))
    figures = {
        "frames": len(frames),
        "raw_model": np.mean(raw),
        "stills_feather0": np.mean(pipeline),
        "stills_feather1": np.mean(refined),
    }
    (artifacts / "davis_iou.json").write_text(json.dumps(figures, indent=2))
    assert figures["raw_model"] > 0.3  # the model does find the runner
    assert abs(figures["stills_feather0"] - figures["raw_model"]) <= 0.005
    assert figures["stills_feather1"] > figures["raw_model"] - 0.05  # refinement must not wreck the mask
