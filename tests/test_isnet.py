"""IS-Net: provisioned from its npm package, converted for the CPU, rewritten for other working sizes."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from conftest import TESTDATA, run_cli
from livematte.engine import load_engine, provision
from livematte.engine.npm import read_resource
from livematte.engine.onnx_edit import resize_input
from livematte.engine.spec import find_spec, parse_spec
from livematte.errors import ConfigError, ModelError

CHUNK = 4 << 20


def _rgb(name: str) -> np.ndarray:
    return np.asarray(Image.open(TESTDATA / "stills_people" / name).convert("RGB"))


def make_package(path: Path, files: dict[str, bytes]) -> Path:
    """An npm-style tarball: dist/resources.json listing each file's sha256-named chunks."""
    index, members = {}, {}
    for key, data in files.items():
        chunks = []
        for start in range(0, len(data), CHUNK):
            part = data[start:start + CHUNK]
            name = hashlib.sha256(part).hexdigest()
            members[f"package/dist/{name}"] = part
            chunks.append({"hash": name, "offsets": [start, start + len(part)]})
        index[key] = {"chunks": chunks, "size": len(data)}
    members["package/dist/resources.json"] = json.dumps(index).encode()
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_spec_describes_isnet_as_data():
    spec = find_spec("isnet")
    assert spec.size == (1024, 1024) and spec.layout == "NCHW" and spec.output_layout == "NCHW"
    assert spec.mean == (128.0,) * 3 and spec.std == (256.0,) * 3 and spec.color == "RGB"
    assert spec.source.kind == "npm-package" and spec.source.package == "@imgly/background-removal-data"
    assert "AGPL-3.0" in spec.license and "MIT" in spec.license
    small = find_spec("isnet_512")
    assert small.size == (512, 512) and small.source.kind == "derived" and small.source.base == "isnet"


def test_npm_source_without_its_checksums_is_refused(tmp_path):
    data = {"file": "x.onnx", "input": {"size": [8, 8]},
            "source": {"kind": "npm-package", "package": "p", "version": "1", "resource": "/m"}}
    with pytest.raises(ConfigError, match="source.tarball_sha256 is required"):
        parse_spec(data, tmp_path / "x.toml")
    data["source"] = {"kind": "derived", "base": "isnet", "convert": "shrink"}
    with pytest.raises(ConfigError, match="source.convert = 'shrink'"):
        parse_spec(data, tmp_path / "x.toml")


def test_package_chunks_are_joined_and_each_is_checked(tmp_path):
    payload = np.random.default_rng(1).bytes(CHUNK * 2 + 1000)
    tarball = make_package(tmp_path / "pkg.tgz", {"/models/medium": payload, "/models/small": b"x" * 10})
    assert read_resource(tarball, "/models/medium") == payload
    with pytest.raises(ModelError, match="lists no '/models/large'"):
        read_resource(tarball, "/models/large")
    with pytest.raises(ModelError, match=r"pkg.tgz: sha256 is .* but the package tarball should be 00"):
        read_resource(tarball, "/models/medium", "00" * 32)
    # a chunk whose content no longer matches its name
    forged = tmp_path / "forged.tgz"
    with tarfile.open(tarball) as src, tarfile.open(forged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith("resources.json") is False and len(data) == CHUNK:
                data = b"\0" + data[1:]
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(ModelError, match=r"chunk dist/\w+ \(1 of 3\) does not match its name"):
        read_resource(forged, "/models/medium")


def test_without_npm_the_message_says_how_to_add_the_file(tmp_path):
    result = run_cli("models", "pull", "isnet", env={"LIVEMATTE_HOME": str(tmp_path), "PATH": str(tmp_path)})
    assert result.returncode != 0
    assert "npm is not installed" in result.stderr
    assert "livematte models add isnet path/to/imgly-background-removal-data-1.4.5.tgz" in result.stderr
    assert "ca7789abb39370727c9a098310b53bce41518d200000423c7107f8c01bbce946" in result.stderr
    assert not (tmp_path / "models" / "isnet.onnx").exists()


def test_add_accepts_the_joined_onnx_and_refuses_other_files(isnet_home, tmp_path):
    fp16 = provision.fp16_path(isnet_home / "models" / "isnet.onnx")
    assert hashlib.sha256(fp16.read_bytes()).hexdigest() == find_spec("isnet").source.sha256
    wrong = tmp_path / "other.onnx"
    wrong.write_bytes(fp16.read_bytes()[:-1])
    result = run_cli("models", "add", "isnet", wrong, env={"LIVEMATTE_HOME": str(tmp_path / "home")})
    assert result.returncode != 0 and "88188478 bytes, but model 'isnet' expects 88188479" in result.stderr
    wrong_kind = tmp_path / "isnet.whl"
    wrong_kind.write_bytes(b"PK")
    result = run_cli("models", "add", "isnet_512", wrong_kind, env={"LIVEMATTE_HOME": str(tmp_path / "home")})
    assert result.returncode != 0 and "made from model 'isnet'" in result.stderr


def test_fp32_graph_agrees_with_the_fp16_original(isnet_home):
    """The CPU conversion changes nothing but the precision (compared at a 256 working size, for speed)."""
    path = isnet_home / "models" / "isnet.onnx"
    image = np.asarray(Image.fromarray(_rgb("car-1.jpg")).resize((256, 256)), np.float32)
    x = ((image - 128.0) / 256.0).transpose(2, 0, 1)[None].copy()
    outputs = []
    for file in (path, provision.fp16_path(path)):
        session = ort.InferenceSession(resize_input(file.read_bytes(), file.name, 256, 256),
                                       providers=["CPUExecutionProvider"])
        outputs.append(session.run(["output"], {"input": x})[0])
    assert outputs[0].shape == (1, 1, 256, 256)
    assert outputs[0].max() > 0.5, "the car is found (weakly, at this small size)"
    assert np.abs(outputs[0] - outputs[1]).max() < 2e-3


def test_general_model_cuts_out_a_car_the_selfie_model_misses(isnet_home):
    image = _rgb("car-2.jpg")
    alpha = load_engine("isnet_512").matte(image)
    selfie = load_engine("selfie").matte(image)
    h, w = alpha.shape
    centre = alpha[h // 3: 2 * h // 3, w // 3: 2 * w // 3]
    assert (centre > 128).mean() > 0.7, "the car's middle is foreground"
    assert (alpha[:, :10] > 128).mean() < 0.2 and (alpha[:10] > 128).mean() < 0.2, "the border is background"
    assert (selfie > 128).mean() < 0.5 * (alpha > 128).mean(), "the selfie model misses most of it"
