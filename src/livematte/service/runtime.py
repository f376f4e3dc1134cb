"""What one worker process keeps between tasks: its Store, its engines (one per model, loaded once and
shared by the worker's threads, as in `livematte stills`) and a StillsBatch per set of options.

An image is matted by StillsBatch.process, the very code `livematte stills` runs per file: the bytes
go to a file the worker names, and the output file it writes comes back as bytes. So a batch through
the API equals the CLI's output for the same images.
"""
from __future__ import annotations

import json
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path

from ..config import Config, EngineConfig, ServiceConfig
from ..engine.subject import stills_engine
from ..stills import Job, StillsBatch
from .options import job_config, suffix
from .store import Store

KEEP_VIDEOS = 3


class Runtime:
    def __init__(self, config: Config, service: ServiceConfig, store: Store, threads: int, name: str = ""):
        self.config = config
        self.service = service
        self.name = name
        self.store = store
        self.threads = threads
        self._engines: dict[tuple, object] = {}
        self._batches: dict[str, StillsBatch] = {}
        self._lock = threading.Lock()
        self.scratch = Path(tempfile.mkdtemp(prefix="livematte-worker-"))

    def engine(self, engine_config: EngineConfig):
        """The engine for this model, loaded on first use and kept (a lock: two threads, one load)."""
        from ..engine import load_engine

        engine_config = replace(engine_config, threads=engine_config.threads or self.threads)
        key = (engine_config.model, engine_config.backend, engine_config.threads)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = load_engine(engine_config.model, engine_config)
            return self._engines[key]

    def batch(self, options: dict) -> StillsBatch:
        key = json.dumps(options, sort_keys=True)
        with self._lock:
            batch = self._batches.get(key)
        if batch is None:
            config = job_config(options, self.config)
            # the stills default pairs two models (engine/subject.py); each is loaded once and kept
            engine = stills_engine(config.stills, lambda name: self.engine(replace(config.engine, model=name)))
            batch = StillsBatch(config, engine=engine)
            with self._lock:
                batch = self._batches.setdefault(key, batch)
        return batch

    def cut_out(self, data: bytes, input_suffix: str, options: dict) -> tuple[str, bytes | None, str, list]:
        """(status, output, error, flags) for one image, through StillsBatch.process."""
        batch = self.batch(options)
        folder = Path(tempfile.mkdtemp(dir=self.scratch))
        try:
            source = folder / f"input{input_suffix}"
            source.write_bytes(data)
            outcome = batch.process(Job(source, folder / f"output{suffix(options)}"))
            if outcome.status != "done":
                return "failed", None, outcome.reason.replace(str(source), "input"), []
            return "done", outcome.output.read_bytes(), "", list(outcome.flags)
        finally:
            for file in folder.iterdir():
                file.unlink(missing_ok=True)
            folder.rmdir()

    def video_input(self, job_id: str) -> Path | None:
        """A video job's input as a file here, fetched once per worker and job (its chunks all read it);
        only the newest few are kept."""
        path = self.scratch / f"{job_id}.video"
        if not path.exists():
            data = self.store.input(job_id, 0)
            if data is None:
                return None
            partial = path.with_suffix(f".{uuid.uuid4().hex}.partial")   # two threads may fetch it at once
            partial.write_bytes(data)
            partial.replace(path)
            kept = sorted(self.scratch.glob("*.video"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[KEEP_VIDEOS:]:
                old.unlink(missing_ok=True)
        return path

    def temp_path(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(dir=self.scratch)) / name

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


def input_suffix(data: bytes) -> str:
    """The worker names the input file; its suffix is chosen from the content, never the client's name."""
    signatures = ((b"\x89PNG", ".png"), (b"\xff\xd8", ".jpg"), (b"RIFF", ".webp"), (b"BM", ".bmp"),
                  (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"), (b"8BPS", ".psd"))
    return next((s for magic, s in signatures if data.startswith(magic)), ".png")


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no worker runtime: tasks run inside `livematte worker`")
    return _runtime

