"""The live path's processor: it runs the stage plan on its own threads, with one-slot mailboxes
(slot.py) between them, measures latency, and lets the background be swapped while it runs.

Live processing is latency-bound: when the stages fall behind, stale frames are dropped (and counted)
instead of queued. There is exactly one slot between any two threads, never a queue.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .config import Config
from .frame import Frame
from .slot import Closed, LatestFrame

log = logging.getLogger(__name__)


class Stats:
    """Rolling per-frame latency (frame in → composited frame out) and output rate."""

    def __init__(self, window: int = 300) -> None:
        self._latency_ms: collections.deque[float] = collections.deque(maxlen=window)
        self._done_at: collections.deque[float] = collections.deque(maxlen=window)
        self.frames = 0
        self.errors = 0

    def record(self, started: float, finished: float) -> None:
        self._latency_ms.append((finished - started) * 1000.0)
        self._done_at.append(finished)
        self.frames += 1

    def fps(self, now: float | None = None, span: float = 2.0) -> float:
        now = time.perf_counter() if now is None else now
        recent = [t for t in self._done_at if now - t <= span]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    def latency(self) -> dict[str, float]:
        if not self._latency_ms:
            return {"p50": 0.0, "p95": 0.0}
        values = np.fromiter(self._latency_ms, np.float64)
        p50, p95 = np.percentile(values, [50, 95])
        return {"p50": round(float(p50), 2), "p95": round(float(p95), 2)}


def live_config(config: Config) -> Config:
    """The live variant of a config: smoothing in its zero-latency mode (no look-ahead), and the model
    on every frame (keyframes hold frames back; serve and camera refuse them up front: check_live)."""
    return dataclasses.replace(config, smooth=dataclasses.replace(config.smooth, lookahead=0),
                               engine=dataclasses.replace(config.engine, keyframe_every=0))


def check_live(config: Config, command: str) -> None:
    """Refuse what only files can have, naming the key, before a live command starts."""
    from .errors import ConfigError

    if config.engine.keyframe_every:
        raise ConfigError(f"[engine] keyframe_every = {config.engine.keyframe_every}: `{command}` is live and "
                          "runs the model on every frame with no look-ahead; keyframes are for files "
                          "(`livematte render`). Set keyframe_every = 0 and a fast model (selfie) for live")


class LiveProcessor:
    """Runs the stage list on two worker threads: newest input in, newest composited frame out.

    The matting thread runs the engine and temporal smoothing, the stage thread the rest (refinement,
    decontamination, background, compositing), with a one-slot LatestFrame between them: while frame N
    is composited, frame N+1 is already being matted. On one thread a frame that arrived while the
    previous one was in the stages waited for all of it; now it waits at most for the engine part.
    Both halves spend their time in ONNX Runtime and OpenCV with the GIL released, so they overlap on
    two cores (latency and drops, one thread vs two: tools/README.md).

    submit() never blocks: an input not yet started when a newer one arrives is dropped, and so is a
    matted frame the stage thread had no time for; both count as dropped. Each subscriber gets its own
    LatestFrame of outputs, so a slow viewer drops frames without slowing the others. set_config() swaps
    the background/shadow stages between two frames.
    """

    def __init__(self, config: Config, engine, *, name: str = "live") -> None:
        from .stages import build_stages

        self.config = live_config(config)
        self._engine = engine
        self._stages = build_stages(self.config, engine, video=True)
        self._pending = None             # a StagePlan from set_config, swapped in between frames
        self._swap_lock = threading.Lock()
        self._inbox = LatestFrame()
        self._matted = LatestFrame()     # matting thread → stage thread
        self._subscribers: list[LatestFrame] = []
        self._sub_lock = threading.Lock()
        self._dropped_out_gone = 0
        self.stats = Stats()
        self._failed_matting = 0    # with frames composited or failed later and the drops, tells `idle`
        self._finished = 0
        self.name = name
        self._threads = [threading.Thread(target=self._matte, name=f"livematte-{name}-matte", daemon=True),
                         threading.Thread(target=self._finish, name=f"livematte-{name}-stages", daemon=True)]
        for thread in self._threads:
            thread.start()

    # -- input ------------------------------------------------------------------------------------
    def submit(self, frame: Frame | Callable[[], Frame]) -> None:
        """Hand in the newest input. A callable is called on the worker thread, so costly conversions
        (YUV → RGB) run only for frames that are actually processed."""
        self._inbox.put((frame, time.perf_counter()))

    # -- output -----------------------------------------------------------------------------------
    def subscribe(self) -> LatestFrame:
        slot = LatestFrame()
        with self._sub_lock:
            self._subscribers.append(slot)
        return slot

    def unsubscribe(self, slot: LatestFrame) -> None:
        with self._sub_lock:
            if slot in self._subscribers:
                self._subscribers.remove(slot)
                self._dropped_out_gone += slot.dropped
        slot.close()

    @property
    def subscribers(self) -> int:
        with self._sub_lock:
            return len(self._subscribers)

    # -- run-time changes -------------------------------------------------------------------------
    def set_config(self, config: Config) -> None:
        """Rebuild the background-dependent stages from `config` and swap them in before the next frame.

        Raises ConfigError here, in the caller, for a bad background, and the running stages stay.
        Stages that hold temporal state (engine, smoothing) are kept so the matte does not jump.
        """
        from .stages import build_stages

        config = live_config(config)
        fresh = build_stages(config, self._engine, video=True)
        with self._swap_lock:
            current = self._pending if self._pending is not None else self._stages
            keep = {type(s): s for s in (*current.matte, *current.edges)}
            plan = fresh.replace(matte=[keep.get(type(s), s) for s in fresh.matte],
                                 edges=[keep.get(type(s), s) for s in fresh.edges])
            superseded, self._pending = self._pending, plan
            self.config = config
        if superseded is not None:       # built but never run: nothing but this call holds it
            superseded.close(keep=plan)

    # -- lifetime ---------------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        self._inbox.close()          # the matting thread ends, and closes the slot to the stage thread
        for thread in self._threads:
            if threading.current_thread() is not thread:
                thread.join(timeout)
        with self._sub_lock:
            subscribers, self._subscribers = self._subscribers, []
        for slot in subscribers:
            self._dropped_out_gone += slot.dropped
            slot.close()
        if not self.alive:                # the workers are gone: nothing runs the stages any more
            with self._swap_lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                pending.close(keep=self._stages)
            self._stages.close()

    @property
    def idle(self) -> bool:
        """Every frame handed in has been composited, failed or been dropped."""
        handled = self._failed_matting + self._matted.dropped + self._finished
        return self._inbox.put_count - self._inbox.dropped - handled <= 0

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def __enter__(self) -> LiveProcessor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def snapshot(self) -> dict[str, Any]:
        """What /stats and the benchmark report for this processor."""
        with self._sub_lock:
            dropped_out = self._dropped_out_gone + sum(s.dropped for s in self._subscribers)
        return {
            "fps": round(self.stats.fps(), 2),
            "latency_ms": self.stats.latency(),
            "frames_in": self._inbox.put_count,
            "frames_out": self.stats.frames,
            "dropped_in": self._inbox.dropped + self._matted.dropped,
            "dropped_out": dropped_out,
            "errors": self.stats.errors,
            "background": self.config.background.spec,
            "shadow": self.config.shadow.kind,
        }

    # -- the workers ----------------------------------------------------------------------------
    def _matte(self) -> None:
        """Engine and smoothing, newest input first; hands each matted frame to the stage thread."""
        try:
            while True:
                try:
                    item, started = self._inbox.take()
                except Closed:
                    return
                plan = self._stages
                try:
                    frame = item() if callable(item) else item
                    for stage in plan.matte:
                        frame = stage(frame)
                except Exception:   # live mode logs and skips a bad frame (STYLE habit 8); the stream goes on
                    self._log_failure()
                    self._failed_matting += 1
                    continue
                self._matted.put((frame, started))
        finally:
            self._matted.close()

    def _finish(self) -> None:
        """The stages after smoothing, then the frame goes to every subscriber."""
        while True:
            try:
                frame, started = self._matted.take()
            except Closed:
                return
            self._apply_pending()
            plan = self._stages
            try:
                for stage in (*plan.edges, *plan.composite):
                    frame = stage(frame)
            except Exception:
                self._log_failure()
                self._finished += 1
                continue
            finished = time.perf_counter()
            with self._sub_lock:
                subscribers = list(self._subscribers)
            for slot in subscribers:
                slot.put(frame)
            self.stats.record(started, finished)
            self._finished += 1                        # after publishing, so `idle` implies delivered

    def _log_failure(self) -> None:
        self.stats.errors += 1
        log.exception("%s: frame dropped: processing failed", self.name)

    def _apply_pending(self) -> None:
        """On the stage thread, between frames: the new plan in, the old one's own stages closed."""
        with self._swap_lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            old, self._stages = self._stages, pending
            old.close(keep=pending)


