"""The project's tflite → ONNX converter against third-party conversions of the same weights."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from conftest import MODELS, REPO, TESTDATA
from livematte.engine.tflite_onnx import convert_tflite
from livematte.errors import ModelError

CASES = {  # tflite original → (third-party ONNX of the same weights, input height, width)
    "selfie_segmentation": ("selfie_segmentation.onnx", 256, 256),
    "selfie_segmentation_landscape": ("selfie_segmentation_landscape.onnx", 144, 256),
}


def real_images() -> list[np.ndarray]:
    paths = sorted((TESTDATA / "stills_people").glob("*.jpg"))
    for sequence in ("parkour", "dance-twirl"):
        paths += sorted((TESTDATA / "davis/JPEGImages" / sequence).glob("*.jpg"))[::30]
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return real_images()


def session(model: bytes | str) -> ort.InferenceSession:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("stem", sorted(CASES))
def test_converted_model_agrees_with_the_reference_conversion_on_real_images(stem, images):
    reference_file, h, w = CASES[stem]
    ours = session(convert_tflite(MODELS / f"{stem}.tflite"))
    reference = session(str(MODELS / reference_file))
    worst, person_pixels = 0.0, 0
    for image in images:
        x = (cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0)[None]
        a, b = run(ours, x), run(reference, x)
        assert a.shape == b.shape == (1, h, w, 1)
        worst = max(worst, float(np.abs(a - b).max()))
        person_pixels += int((a > 0.5).sum())
    assert worst <= 1e-3, f"{stem}: max abs difference {worst:.2e} on {len(images)} real images"
    assert person_pixels > 0, "the images contain people: a constant output would agree only by accident"


@pytest.mark.parametrize("stem", sorted(CASES))
def test_conversion_keeps_nhwc_io_and_transposes_only_at_the_ends(stem):
    _, h, w = CASES[stem]
    model = onnx.load_from_string(convert_tflite(MODELS / f"{stem}.tflite"))
    io = (*model.graph.input, *model.graph.output)
    dims = [[d.dim_value for d in v.type.tensor_type.shape.dim] for v in io]
    assert dims == [[1, h, w, 3], [1, h, w, 1]]
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Transpose") == 2 and ops[0] == ops[-1] == "Transpose"
    assert "ConvTranspose" in ops and "HardSwish" in ops
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer
               if t.dims and len(t.dims) == 4), "fp16 weights are folded to float32"


def test_conversion_is_deterministic_across_processes():
    source = MODELS / "selfie_segmentation.tflite"
    here = hashlib.sha256(convert_tflite(source, name="selfie")).hexdigest()
    assert hashlib.sha256(convert_tflite(source, name="selfie")).hexdigest() == here
    code = ("import hashlib, sys; from livematte.engine.tflite_onnx import convert_tflite; "
            f"print(hashlib.sha256(convert_tflite({str(source)!r}, name='selfie')).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONPATH": str(REPO / "src"), "PYTHONHASHSEED": "123"}).stdout.strip()
    assert other == here


def test_cached_model_is_the_converter_output(model_home):
    cached = (model_home / "models" / "selfie.onnx").read_bytes()
    assert cached == convert_tflite(MODELS / "selfie_segmentation.tflite", name="selfie")


@pytest.mark.parametrize("data, why", [(b"not a model at all", "no TFL3"), (None, "truncated")])
def test_unreadable_tflite_is_refused_by_name(tmp_path, data, why):
    path = tmp_path / "broken.tflite"
    truncated = (MODELS / "selfie_segmentation.tflite").read_bytes()[:4000]
    path.write_bytes(data if data is not None else truncated)
    with pytest.raises(ModelError, match=rf"broken\.tflite.*{why}"):
        convert_tflite(path)
