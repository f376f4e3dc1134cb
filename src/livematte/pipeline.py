"""render(): source → stages → sink for files and streams, with progress, a report and a clean Ctrl-C.

Five threads, joined by small bounded queues, so decode, matting, the other stages and encode overlap
on separate cores:

    decode thread:     source.frames()                (FFmpeg decode + YUV→RGB, GIL released)
    engine thread:     engine + temporal smoothing    (ONNX Runtime, OpenCV: GIL released)
    refine thread:     refinement, decontamination    (OpenCV; absent when both are off)
    composite thread:  compositing (background, shadow: OpenCV)
    main thread:       sink.write(frame) + progress   (FFmpeg encode: GIL released)

Where a frame's CPU goes is in RenderReport.stage_cpu_seconds (tools/bench.py prints it); the encoder's
own threads take most of it, and how the stages are split across threads matters less than the CPU.

The main thread encodes so that Ctrl-C (always delivered to the main thread) lands where the output
is, and the sink can be finalised into a valid file of what was done. Frames pass between threads by
reference (a Frame's arrays are never written in place), and colour is converted once each way: YUV→RGB
in the source, RGB→YUV in the sink. For a yuv420p output (H.264, opaque VP9) the second goes: the composite
blends in I420 from the source's decoded planes and the sink encodes its output as is.

Thread budget (alternatives measured with tools/bench.py, figures in tools/README.md): the pipeline's
own threads give the overlap, and every library keeps the pool it has by default, which none of the
alternatives beat:
- libx264 keeps its own threads (1.5 × cores frame threads + lookahead): the encoder is most of the work,
  and the raw/bare baselines use the same settings. Its cost depends on the picture, hence the steady
  blurred background (stages/backgrounds/blur.py);
- the decoder uses frame threads (thread_type AUTO) for files, slice threads for live inputs;
- ONNX Runtime: intra-op threads = cores // 2 (engine/onnx.py), no inter-op pool, idle workers sleep;
- OpenCV runs each call on the thread that makes it (threads.py): the pipeline's own threads already
  fill the cores, and the pool's hand-offs on every small call cost CPU. The live path keeps the pool:
  there it splits one frame's work, for latency.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

from .config import Config, load_config
from .interrupts import stop_once
from .overwrite import background_files, check_output
from .quality import FrameFlags, QualityCheck
from .threads import opencv_threads
from .truncation import missing_frames_note

log = logging.getLogger(__name__)

QUEUE_FRAMES = 3   # per queue: enough to ride out jitter between stages, small enough to stay in cache


@dataclass
class RenderReport:
    input: str
    output: str
    frames_written: int = 0
    frames_expected: int | None = None    # from the container, when it says
    corrupt_packets: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)   # busy time per stage, summed over frames
    # CPU time of each step on its own thread, summed; the codecs' own threads (libx264's frame threads,
    # the decoder's) are not in it: they are the process's CPU time minus these.
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    kept: bool = True                     # the output exists (an interrupted render keeps what was done)
    quality: FrameFlags | None = None     # the frames whose matte was flagged (quality.py)

    @property
    def fps(self) -> float:
        return self.frames_written / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [f"{self.output}: {self.frames_written} frames in {self.seconds:.1f} s ({self.fps:.1f} fps)"
                 + ("" if not self.interrupted else " — interrupted, kept what was done" if self.kept
                     else " — interrupted; nothing was kept")]
        if self.corrupt_packets:
            lines.append(f"{self.input}: skipped {len(self.corrupt_packets)} corrupt or unreadable packets "
                         f"(first: {self.corrupt_packets[0]['reason']})")
        lines += [f"warning: {w}" for w in self.warnings]
        if self.quality is not None:
            lines.append(self.quality.summary())
        return "\n".join(lines)


def render(input: str, output: str, config: Config | None = None, progress: bool = True, *,
           engine=None) -> RenderReport:
    """Matte every frame of `input` (a file, image sequence or stream URL) and write `output`."""
    from tqdm import tqdm

    from .engine import load_engine
    from .sinks import codecs, sink_kind
    from .sinks.file import takes_i420
    from .sources import is_live, open_source
    from .stages import build_stages

    config = config or load_config()
    kind = sink_kind(output, config.output)
    if codecs.codec(kind).sequence:
        from .sinks.sequence import sequence_pattern

        output = sequence_pattern(output)      # what is written, and what the report names
    check_output([input, *background_files(config)], output, config.output.overwrite)
    wants_audio = config.output.audio and not config.output.matte_only and not codecs.codec(kind).sequence
    # A yuv420p encoder takes the composite's I420 as is: half the bytes to blend, no conversion.
    i420 = not config.output.matte_only and takes_i420(kind)
    check = QualityCheck(config.quality, feather=config.refine.feather)
    report = RenderReport(input=str(input), output=str(output), quality=FrameFlags(check))
    started = time.perf_counter()
    with (open_source(input, live=is_live(input), audio=wants_audio, **config.input.source_options()) as source,
          opencv_threads(1), ExitStack() as stack):
        report.frames_expected = source.frame_count
        engine = engine or load_engine(config.engine.model, config.engine)
        plan = build_stages(config, engine, video=True, i420=i420)
        stack.callback(plan.close)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        timers, processed = _start_threads(plan, source, stop, threads)
        bar = tqdm(total=source.frame_count, unit="frame", disable=not progress, dynamic_ncols=True,
                   desc=f"render {os.path.basename(output)}")
        with stop_once(output):
            try:
                sink = _write(output, config, source, processed, timers[-1], report, bar)
            finally:
                stop.set()
                for thread in threads:   # before the source closes under them, and before the interpreter exits
                    thread.join(timeout=30)
                bar.close()
        report.frames_written = sink.frames_written if sink is not None else 0
        report.kept = report.frames_written > 0 and (codecs.codec(kind).sequence or os.path.exists(output))
        report.corrupt_packets = list(source.errors)
        report.warnings = [*source.warnings, *(sink.warnings if sink is not None else [])]
        if note := missing_frames_note(str(input), report.frames_written, report.frames_expected, report.interrupted):
            report.warnings.append(note)
        report.stage_seconds = {t.name: t.seconds for t in timers}
        report.stage_cpu_seconds = {t.name: t.cpu for t in timers}
    report.seconds = time.perf_counter() - started
    return report


def _write(output: str, config: Config, source, processed: Iterator, timer, report: RenderReport, bar):
    """Every processed frame into the sink; a Ctrl-C stops the loop and the sink keeps what was written.
    The sink, or None where it could not be opened."""
    from .sinks import open_sink

    sink = None
    try:
        with open_sink(output, config.output, like=source) as sink:
            for frame in processed:
                with timer:
                    sink.write(frame)
                report.quality.add(frame.index, frame.alpha)
                bar.update()
    except KeyboardInterrupt:
        report.interrupted = True
    return sink


# The thread each group of the stage plan runs on (stages/plan.py); the names show in profiles.
_THREADS = {"matte": "engine", "edges": "refine", "composite": "composite"}


def _start_threads(plan, source, stop: threading.Event, threads: list) -> tuple[list, Iterator]:
    """The decode thread, then one thread per group of the plan (a group with no stages adds none):
    the timers of every step (decode, each stage, encode) and the iterator of processed frames."""
    timed = {name: [_timed(stage) for stage in group] for name, group in plan.groups().items()}
    timers = [_Timer("decode"), *timed["matte"], *timed["edges"], *timed["composite"], _Timer("encode")]
    frames = _in_thread("decode", timers[0].wrap(source.frames()), stop, threads)
    for name, group in timed.items():
        if group:
            frames = _in_thread(_THREADS[name], _run(group, frames), stop, threads)
    return timers, frames


def _run(stages: list, frames: Iterable) -> Iterator:
    from .stages import run_stages

    return run_stages(stages, frames)


# -- threads between the stages --------------------------------------------------------------------
_END = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _in_thread(name: str, items: Iterable, stop: threading.Event, threads: list) -> Iterator:
    """Run `items` in a daemon thread that stays at most QUEUE_FRAMES ahead; errors re-raise here."""
    slots: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:   # handed to the consumer, which raises it in its own thread
            put(_Failed(exc))

    thread = threading.Thread(target=produce, name=f"livematte-{name}", daemon=True)
    thread.start()
    threads.append(thread)

    def consume() -> Iterator:
        while True:
            try:
                item = slots.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item

    return consume()


# -- the per-stage profile -------------------------------------------------------------------------
class _Timer:
    """Busy seconds (wall) and CPU seconds (of the calling thread) of one step, summed; a context
    manager, and a wrapper for an iterator. Wall time includes waiting for a core, CPU time does not."""

    def __init__(self, name: str):
        self.name = name
        self.seconds = 0.0
        self.cpu = 0.0

    def __enter__(self):
        self._start, self._start_cpu = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._start
        self.cpu += time.thread_time() - self._start_cpu

    def wrap(self, items: Iterable) -> Iterator:
        items = iter(items)
        while True:
            with self:
                item = next(items, _END)
            if item is _END:
                return
            yield item


class _TimedStage(_Timer):
    def __init__(self, stage):
        super().__init__(getattr(stage, "name", type(stage).__name__))
        self.stage = stage

    def __call__(self, frame):
        with self:
            return self.stage(frame)

    def reset(self) -> None:
        self.stage.reset()


class _TimedLookahead(_TimedStage):
    def push(self, frame):
        with self:
            return self.stage.push(frame)

    def flush(self):
        with self:
            return self.stage.flush()


def _timed(stage) -> _TimedStage:
    return _TimedLookahead(stage) if hasattr(stage, "push") else _TimedStage(stage)


__all__ = ["RenderReport", "render"]
