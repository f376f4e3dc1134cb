"""Shared fixtures: the real models and media in ../shared, a private model cache, clips made with PyAV."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODELS = SHARED / "models"
TESTDATA = SHARED / "testdata"
ARTIFACTS = REPO / "test-artifacts"
# Models fetched over the network for the tests (IS-Net through npm), kept between runs outside the repo.
NETWORK_MODELS = ("isnet", "isnet_512", "isnet_768")

# A run started in the background by a shell without job control (`make test &`, many CI scripts) inherits
# SIGINT ignored, and every process a test starts would inherit that too: the Ctrl-C tests would send a
# signal nobody hears and see the render finish. The tests stand in for a user at a terminal, so pytest's
# process takes the signal again, which its children then get at its default (exec resets a handler).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def shared_test_home() -> Path:
    """A LIVEMATTE_HOME the test runs share: `models pull` fills it once, later runs reuse it."""
    if env := os.environ.get("LIVEMATTE_TEST_HOME"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "livematte-tests"


def _pull_network_models(home: Path) -> str:
    """Pull NETWORK_MODELS into the shared test cache with the product's own CLI, then link them into
    `home`; "" or the reason they could not be had (the tests that need them fail with it)."""
    shared_home = shared_test_home()
    result = run_cli("models", "pull", *NETWORK_MODELS, env={"LIVEMATTE_HOME": str(shared_home)})
    if result.returncode != 0:
        return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "models pull failed"
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    for source in (shared_home / "models").iterdir():
        if source.name.split(".")[0] not in NETWORK_MODELS or source.name.endswith(".tmp"):
            continue
        if source.name.endswith(".sha256"):
            (models / source.name).write_bytes(source.read_bytes())
        else:      # linked, not copied (264 MB); a test that damages one makes the next run pull it again
            (models / source.name).symlink_to(source)
    return ""


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the tests read real models and media from ../shared")
    return SHARED


@pytest.fixture(scope="session", autouse=True)
def model_home(tmp_path_factory) -> Path:
    """A private LIVEMATTE_HOME holding the default models, so tests never touch the user's cache."""
    home = tmp_path_factory.mktemp("livematte_home")
    old = os.environ.get("LIVEMATTE_HOME")
    os.environ["LIVEMATTE_HOME"] = str(home)
    # Filled the way a user without network would: `models add` runs the project's own tflite converter.
    from livematte.engine import provision
    from livematte.engine.spec import find_spec

    provision.add(find_spec("selfie"), MODELS / "selfie_segmentation.tflite")
    provision.add(find_spec("selfie_landscape"), MODELS / "selfie_segmentation_landscape.tflite")
    provision.add(find_spec("sinet"), MODELS / "SINet_Softmax_simple.onnx")
    global NETWORK_MODELS_MISSING
    NETWORK_MODELS_MISSING = _pull_network_models(home)
    yield home
    if old is None:
        os.environ.pop("LIVEMATTE_HOME", None)
    else:
        os.environ["LIVEMATTE_HOME"] = old


NETWORK_MODELS_MISSING = ""


@pytest.fixture(scope="session")
def isnet_home(model_home) -> Path:
    """The private LIVEMATTE_HOME, asserted to hold the IS-Net models (pulled through npm)."""
    if NETWORK_MODELS_MISSING:
        pytest.fail(f"IS-Net could not be provisioned for the tests: {NETWORK_MODELS_MISSING}")
    return model_home


@pytest.fixture(scope="session")
def engine(model_home):
    from livematte.engine import load_engine

    return load_engine("selfie")


@pytest.fixture
def artifacts(request) -> Path:
    """A folder kept after the run (screenshots, golden-image diffs), one per test."""
    path = ARTIFACTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_cli(*args: str, check: bool = False, timeout: float = 600, env: dict | None = None):
    """Run `python -m livematte ARGS` as a user would, against this checkout's src/."""
    import subprocess
    import sys

    full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "livematte", *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, env=full_env)
    if check and result.returncode != 0:
        raise AssertionError(f"livematte {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr}")
    return result
