"""`livematte models` as a user runs it."""
from __future__ import annotations

from conftest import MODELS, run_cli


def test_list_shows_every_model_with_source_licence_and_state(model_home):
    out = run_cli("models", "list", check=True).stdout
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert {"selfie", "selfie_landscape", "sinet"} <= set(rows)
    assert "mediapipe==0.10.14" in rows["selfie"] and "Apache-2.0" in rows["selfie"]
    assert "256x144" in rows["selfie_landscape"] and "MIT" in rows["sinet"]
    assert all(rows[name].split()[-2:] == ["yes", "yes"] for name in ("selfie", "selfie_landscape", "sinet"))
    assert str(model_home / "models") in out


def test_verify_and_path_on_a_good_cache(model_home):
    verify = run_cli("models", "verify", check=True).stdout
    assert verify.count(": ok") >= 3 and "FAILED" not in verify
    path = run_cli("models", "path", "selfie_landscape", check=True).stdout.strip()
    assert path == str(model_home / "models" / "selfie_landscape.onnx")


def test_add_refuses_a_file_with_the_wrong_sha(tmp_path):
    env = {"LIVEMATTE_HOME": str(tmp_path)}
    result = run_cli("models", "add", "sinet", MODELS / "selfie_segmentation.onnx", env=env)
    assert result.returncode == 1
    assert "selfie_segmentation.onnx: sha256 is 1511ab55" in result.stderr
    assert "expects 17a75acc" in result.stderr
    assert not (tmp_path / "models" / "SINet_Softmax_simple.onnx").exists()


def test_add_refuses_an_onnx_for_a_model_converted_from_tflite(tmp_path):
    result = run_cli("models", "add", "selfie", MODELS / "selfie_segmentation.onnx",
                     env={"LIVEMATTE_HOME": str(tmp_path)})
    assert result.returncode == 1 and "give the .tflite file or the mediapipe==0.10.14 wheel" in result.stderr


def test_add_then_verify_in_a_fresh_home(tmp_path):
    env = {"LIVEMATTE_HOME": str(tmp_path)}
    added = run_cli("models", "add", "selfie", MODELS / "selfie_segmentation.tflite", env=env, check=True)
    assert str(tmp_path / "models" / "selfie.onnx") in added.stdout
    verify = run_cli("models", "verify", env=env)
    assert verify.returncode == 0 and "selfie: ok" in verify.stdout and "sinet: not cached" in verify.stdout


def test_unknown_model_name_is_a_config_error(model_home):
    result = run_cli("models", "path", "nosuchmodel")
    assert result.returncode == 2
    assert "unknown model 'nosuchmodel'" in result.stderr and "selfie" in result.stderr
