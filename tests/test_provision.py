"""Model provisioning: the real package index once, a verified cache, damage noticed, no network explained."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import MODELS, TESTDATA, run_cli
from livematte.engine import load_engine, provision
from livematte.engine.spec import find_spec, load_spec
from livematte.errors import ModelError

# pip pointed at a closed local port and told not to retry: fails in about a second, like a machine offline.
OFFLINE = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
           "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "5"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty LIVEMATTE_HOME of its own, for this process and the CLI processes it starts."""
    monkeypatch.setenv("LIVEMATTE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.network
def test_pull_from_the_package_index_replaces_a_damaged_cache_and_infers(home, model_home):
    # Damage a cached selfie first, so one download shows both: damage noticed, both models pulled.
    run_cli("models", "add", "selfie", MODELS / "selfie_segmentation.tflite", check=True)
    damaged = home / "models" / "selfie.onnx"
    damaged.write_bytes(damaged.read_bytes()[:10_000])
    result = run_cli("models", "pull", "selfie", "selfie_landscape", check=True)   # the default adds isnet (npm)
    assert "damaged" in result.stderr and "selfie.onnx" in result.stderr
    assert result.stderr.count("downloading mediapipe==0.10.14") == 1, "both models come out of one wheel"
    pairs = (("selfie", "selfie_segmentation"), ("selfie_landscape", "selfie_segmentation_landscape"))
    for name, original in pairs:
        cached = home / "models" / f"{name}.onnx"
        sidecar = (home / "models" / f"{name}.onnx.sha256").read_text()
        assert sidecar.split()[0] == sha(cached)
        assert sha(MODELS / f"{original}.tflite") in sidecar, "the wheel member is the known original"
        # the same converter on the same original: byte for byte what the test cache holds
        assert cached.read_bytes() == (model_home / "models" / f"{name}.onnx").read_bytes()
    image = np.asarray(Image.open(TESTDATA / "stills_people/girl-2.jpg").convert("RGB"))
    alpha = load_engine("selfie").matte(image)
    assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] > 200 and alpha[:10, :10].mean() < 50


def test_offline_without_cache_fails_fast_and_says_how_to_add_the_file(home):
    result = run_cli("models", "pull", "selfie", env=OFFLINE)
    assert result.returncode != 0
    assert "livematte models add selfie path/to/selfie_segmentation.tflite" in result.stderr
    assert "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c" in result.stderr
    assert "pip could not download mediapipe==0.10.14" in result.stderr
    assert not (home / "models" / "selfie.onnx").exists()


def test_first_use_provisions_through_load_engine(home, monkeypatch):
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ModelError, match="models add selfie_landscape"):
        load_engine("selfie_landscape")     # load_engine asked provisioning for the file, which tried pip


def test_damaged_cache_is_detected_reported_and_replaced_by_add(home, caplog, monkeypatch):
    spec = find_spec("selfie")
    good = provision.add(spec, MODELS / "selfie_segmentation.tflite")
    good_sha = sha(good)
    good.write_bytes(good.read_bytes()[: good.stat().st_size // 2])      # a truncated download or disk error
    state = provision.status(spec)
    assert state.present and not state.verified and "truncated" in state.reason
    verify = run_cli("models", "verify", "selfie")
    assert verify.returncode == 1 and "FAILED" in verify.stdout
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    with caplog.at_level("WARNING"), pytest.raises(ModelError, match="models add selfie"):
        provision.ensure_model(spec)        # never hands the damaged file to the engine
    assert "damaged" in caplog.text
    provision.add(spec, MODELS / "selfie_segmentation.tflite")
    assert provision.status(spec).verified and sha(good) == good_sha


def test_missing_sidecar_is_not_trusted(home):
    spec = find_spec("selfie_landscape")
    path = provision.add(spec, MODELS / "selfie_segmentation_landscape.tflite")
    provision.sidecar_path(path).unlink()
    assert not provision.status(spec).verified


def test_add_from_the_wheel_file(home, tmp_path):
    import zipfile

    wheel = tmp_path / "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:   # a stand-in wheel holding the real member
        archive.write(MODELS / "selfie_segmentation.tflite",
                      "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite")
    path = provision.add(find_spec("selfie"), wheel)
    assert provision.status(find_spec("selfie")).verified and path.parent == home / "models"


def test_wrong_file_is_refused_and_the_cache_is_left_alone(home):
    with pytest.raises(ModelError, match="sha256 is .* but model 'selfie_landscape' expects a77d03f4"):
        provision.add(find_spec("selfie_landscape"), MODELS / "selfie_segmentation.tflite")
    assert not (home / "models" / "selfie_landscape.onnx").exists()


def test_users_own_onnx_beside_its_spec(tmp_path):
    (tmp_path / "mine.onnx").symlink_to(MODELS / "SINet_Softmax_simple.onnx")
    body = (Path(provision.__file__).parents[3] / "configs/models/sinet.toml").read_text()
    body = body.replace('file = "SINet_Softmax_simple.onnx"', 'file = "mine.onnx"')
    body = body[: body.index("[source]")] + body[body.index("[input]"):]
    good = tmp_path / "mine.toml"
    good.write_text(f'sha256 = "{sha(MODELS / "SINet_Softmax_simple.onnx")}"\n' + body)
    assert provision.ensure_model(load_spec(good)) == tmp_path / "mine.onnx"
    bad = tmp_path / "bad.toml"
    bad.write_text(f'sha256 = "{"0" * 64}"\n' + body)
    with pytest.raises(ModelError, match="mine.onnx: sha256 is"):
        provision.ensure_model(load_spec(bad))
    assert (tmp_path / "mine.onnx").exists(), "a user's own file is never replaced"
