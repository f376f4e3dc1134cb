"""What the benchmark areas share: paths to the test data, the source tree under test, the engine,
process start-up settings, and a peak-memory sampler."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIP_1080 = SHARED / "testdata" / "videos" / "room_two_people_1080p.mp4"
STILL = SHARED / "testdata" / "stills_people" / "car-1.jpg"
BG_VIDEO = SHARED / "testdata" / "videos" / "gym_426x240.mp4"


def use_source_tree(src: str | None, area: str) -> None:
    """Import livematte from `src` (default: this checkout's src/), so a `before` tree can be measured
    by the same benchmark code; then apply that tree's process start-up settings as its CLI would for
    the command the area stands for (render, stills; the live path is `serve`/`camera`)."""
    sys.path.insert(0, str(Path(src).resolve() if src else REPO / "src"))
    try:
        from livematte.cli import BOUNDED, tune_process
    except ImportError:       # an older tree without start-up settings: measured as it was
        return
    if area in BOUNDED:
        tune_process()


def load_default_engine(config):
    """The config's engine; when the model cache is empty, the reference ONNX files in ../shared."""
    from livematte.engine import load_engine
    from livematte.errors import ModelError

    try:
        return load_engine(config.engine.model, config.engine)
    except ModelError:
        models = SHARED / "models"
        if not models.is_dir():
            raise SystemExit(f"no model in the cache and no {models}: run `livematte models pull` first") \
                from None
        home = Path(tempfile.mkdtemp(prefix="livematte-bench-"))
        (home / "models").mkdir()
        shutil.copy(models / "selfie_segmentation.onnx", home / "models" / "selfie.onnx")
        shutil.copy(models / "selfie_segmentation_landscape.onnx", home / "models" / "selfie_landscape.onnx")
        os.environ["LIVEMATTE_HOME"] = str(home)
        return load_engine(config.engine.model, config.engine)


class PeakRss:
    """Peak resident memory while the block runs, sampled from /proc (ru_maxrss only ever grows, so it
    can't tell the variants of one process apart; the section's ru_maxrss is reported beside this)."""

    def __enter__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page)
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.peak / 2**20
