"""The TensorRT engine agrees with ONNX Runtime where a GPU and TensorRT exist, and says how to get them."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from conftest import TESTDATA, run_cli

HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def gpu_or_skip():
    if not HAVE_TENSORRT:
        pytest.skip("TensorRT is not installed: pip install 'livematte[tensorrt]' on an NVIDIA GPU machine")
    from livematte.engine.tensorrt import _import_runtime
    from livematte.errors import EngineUnavailable

    try:
        _, cudart = _import_runtime()
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    err, count = cudart.cudaGetDeviceCount()
    if err != cudart.cudaError_t.cudaSuccess or count == 0:
        pytest.skip(f"no CUDA GPU is visible ({err})")


@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed: the missing-runtime message can't show")
def test_tensorrt_backend_without_tensorrt_says_how_to_install_it(model_home):
    result = run_cli("models", "check", "selfie", "--backend", "tensorrt")
    assert result.returncode != 0
    assert "pip install 'livematte[tensorrt]' on a machine with an NVIDIA GPU" in result.stderr
    assert "Traceback" not in result.stderr


def test_load_engine_raises_engine_unavailable_without_tensorrt(model_home):
    if HAVE_TENSORRT:
        pytest.skip("TensorRT is installed here")
    from livematte.config import EngineConfig
    from livematte.engine import load_engine
    from livematte.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable, match=r"livematte\[tensorrt\]"):
        load_engine("selfie", EngineConfig(backend="tensorrt"))


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["selfie", "selfie_landscape", "sinet"])
def test_tensorrt_fp16_agrees_with_onnx_runtime(name, model_home, tmp_path, monkeypatch):
    gpu_or_skip()
    monkeypatch.setenv("LIVEMATTE_ENGINES", str(tmp_path / "engines"))
    from livematte.config import EngineConfig
    from livematte.engine import load_engine

    onnx = load_engine(name)
    paths = sorted((TESTDATA / "stills_people").glob("*.jpg"))
    images = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    with load_engine(name, EngineConfig(backend="tensorrt")) as trt:
        assert trt.plan_path.is_file() and trt.plan_path.parent == tmp_path / "engines"
        assert trt.gpu_name and name in trt.plan_path.name
        ours, theirs = trt.infer(images), onnx.infer(images)
    assert ours.shape == theirs.shape
    assert float(np.abs(ours - theirs).max()) <= 1e-2
    # a second engine loads the cached plan instead of building again
    mtime = trt.plan_path.stat().st_mtime_ns
    with load_engine(name, EngineConfig(backend="tensorrt")) as again:
        assert again.plan_path == trt.plan_path and trt.plan_path.stat().st_mtime_ns == mtime
