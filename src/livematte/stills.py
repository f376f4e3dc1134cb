"""The stills batch: files and folder trees in, a mirrored tree of cut-outs out, bad files listed at the end.

Each image runs through the same stages as video (build_stages(config, engine, video=False): engine →
refine → decontaminate → composite) and is written atomically. An existing output is skipped unless
[output] overwrite is set, so an interrupted batch resumes where it stopped. A bad file never stops the batch.

Workers are threads sharing one ONNX Runtime session, each with its own stage list. Pillow (decode,
encode), ONNX Runtime and OpenCV all release the GIL, so threads keep every core busy without a copy
of the model per process. Threads and processes measured alike (tools/README.md); threads keep one
model in memory, need no pickling of results and stop cleanly on Ctrl-C, so threads it is.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import cv2

from . import studio
from .config import BackgroundConfig, Config, DecontaminateConfig, ShadowConfig
from .engine.subject import stills_engine
from .errors import LivematteError, OutputError
from .frame import Frame
from .leftovers import prepare_folder
from .output_facts import OutputFacts, output_facts, recheck, solid_colour
from .quality import QualityCheck, Verdict
from .report import flagged_lines, image_lines
from .sinks.images import SUFFIXES, write_image
from .sources.images import ImageFile, find_images, read_image
from .stages.product import add_product_stages
from .stages.pure_white import check_written
from .threads import opencv_threads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path


@dataclass(frozen=True)
class Outcome:
    status: str  # done | skipped | failed
    path: Path
    output: Path | None = None
    reason: str = ""
    verdict: Verdict | None = None   # quality flags of a written output (quality.py)
    facts: OutputFacts | None = None  # size, fill, pure background of a written output (output_facts.py)

    @property
    def flags(self) -> tuple[str, ...]:
        return self.verdict.flags if self.verdict is not None else ()


@dataclass
class Summary:
    done: list[Outcome] = field(default_factory=list)
    skipped: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # non-image files found while walking folders
    seconds: float = 0.0
    strict: bool = False  # a flagged output fails the batch

    def add(self, outcome: Outcome) -> None:
        getattr(self, outcome.status).append(outcome)

    @property
    def flagged(self) -> list[Outcome]:
        return [outcome for outcome in [*self.done, *self.skipped] if outcome.flags]

    @property
    def ok(self) -> bool:
        return not self.failed and not (self.strict and self.flagged)


class KeepSourceAlpha:
    """Stills only: what the file itself marks transparent stays transparent (alpha = min(model, file))."""

    def __call__(self, frame: Frame) -> Frame:
        source = frame.source_alpha
        if source is None or frame.alpha is None:
            return frame
        return replace(frame, alpha=cv2.min(frame.alpha, source))

    def reset(self) -> None:
        pass


def output_path(outdir: Path, relative: Path, suffix: str) -> Path:
    """OUTDIR/relative with the new suffix; refuses anything that would land outside OUTDIR."""
    if relative.is_absolute() or ".." in relative.parts:
        raise OutputError(f"{relative}: output path would escape {outdir} ('..' or absolute path)")
    out = outdir / relative.with_suffix(suffix)
    root = outdir.resolve()
    # resolve() follows links in every existing component, so a linked subfolder or a linked output
    # file that points elsewhere is caught here.
    if not out.resolve().is_relative_to(root):
        raise OutputError(f"{out}: resolves to {out.resolve()}, outside {root} (a symbolic link?); refused")
    return out


def plan(images: Sequence[ImageFile], outdir: Path, suffix: str) -> tuple[list[Job], list[Outcome]]:
    """Map inputs to outputs, refusing escapes, collisions and anything that would overwrite an input."""
    jobs: list[Job] = []
    refused: list[Outcome] = []
    inputs = {image.path.resolve() for image in images}
    claimed: dict[Path, Path] = {}
    for image in images:
        try:
            out = output_path(outdir, image.relative, suffix)
        except OutputError as exc:
            refused.append(Outcome("failed", image.path, reason=str(exc)))
            continue
        target = out.resolve()
        if target in inputs or (out.exists() and os.path.samefile(out, image.path)):
            refused.append(
                Outcome("failed", image.path, out, f"output {out} is an input file; never overwritten")
            )
        elif target in claimed:
            refused.append(
                Outcome("failed", image.path, out, f"output {out} is already the output of {claimed[target]}")
            )
        else:
            claimed[target] = image.path
            jobs.append(Job(image.path, out))
    return jobs, refused


def check_outdir(inputs: Iterable[str | os.PathLike], outdir: Path) -> None:
    """Refuse an OUTDIR that is an input folder: outputs would be written among the inputs."""
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: the output must be a folder (-o OUTDIR), and this is a file")
    root = outdir.resolve()
    for item in inputs:
        path = Path(item)
        if path.is_dir() and path.resolve() == root:
            raise OutputError(f"{outdir}: the output folder is the input folder {path}; choose another -o")


class StillsBatch:
    # With several workers the cores are already busy with whole images; OpenCV splitting each call
    # over its own pool on top oversubscribes them, and the hand-offs cost more than they gain:
    # With other jobs loading the machine, 2 threads ran 8.8 images/s with OpenCV single-threaded
    # against 7.1 with its pool (once 11.0 against 4.2; PNG, 1080p); on a quiet machine they tie.
    # cv2.setNumThreads is process-wide, so it is set for the batch only and restored after.
    single_threaded_opencv = True

    def __init__(self, config: Config, engine=None):
        self.config = config
        self.workers = config.stills.workers or os.cpu_count() or 1
        self.mask_only = config.stills.mask_only
        fmt = "png" if self.mask_only else config.stills.format
        self.suffix = SUFFIXES[fmt]
        if fmt == "jpg" and config.background.spec.strip().lower() == "transparent" and not self.mask_only:
            # JPEG has no alpha: a JPEG cut-out with no background asked for goes on white.
            self.config = replace(config, background=replace(config.background, spec="white"))
        self.engine = engine if engine is not None else stills_engine(self.config.stills, self._load_engine)
        second = self._load_engine(config.quality.second_model) if config.quality.second_model else None
        self.quality = QualityCheck(config.quality, feather=config.refine.feather, second=second)
        self.colour = None if self.mask_only else solid_colour(self.config.background.spec)
        self._local = threading.local()
        self._stages()  # build once now, so a bad background spec fails before any file is touched

    def _load_engine(self, model: str):
        from .engine import load_engine

        engine_config = self.config.engine
        if engine_config.threads == 0:
            # Each worker runs one inference at a time; together they fill the cores.
            engine_config = replace(engine_config, threads=max(1, (os.cpu_count() or 1) // self.workers))
        return load_engine(model, engine_config)

    def _stages(self) -> list:
        """This worker thread's stage list (stages may keep per-image scratch state); the engine is shared."""
        stages = getattr(self._local, "stages", None)
        if stages is None:
            from .stages import build_stages

            config = self.config
            if self.mask_only:
                config = replace(
                    config,
                    background=BackgroundConfig(),
                    shadow=ShadowConfig(),
                    decontaminate=DecontaminateConfig(enabled=False),
                )
            plan = build_stages(config, self.engine, video=False)
            if self.mask_only:      # the alpha is the output: no compositing
                plan = plan.replace(composite=[KeepSourceAlpha()])
            else:                   # the source's own transparency, applied to the finished matte
                plan = plan.replace(edges=[*plan.edges, KeepSourceAlpha()])
            stages = add_product_stages(list(plan), config, mask_only=self.mask_only)
            self._local.stages = stages
        return stages

    def process(self, job: Job) -> Outcome:
        """One image, start to finish. Every failure becomes an Outcome: a bad file never stops the batch."""
        try:
            if job.output.exists() and not self.config.output.overwrite:
                return self._skipped(job)
            still = read_image(job.source, self.config.input.max_pixels)
            if studio.wants_tiles(still, self.config.stills.tile_pixels, self._stages(), KeepSourceAlpha):
                alpha = studio.write_tiled(job.output, still, self._stages(), mask_only=self.mask_only,
                                           quality=self.config.stills.quality)
                # The white of a tiled (huge) output is not decoded back: size and fill only. The image
                # goes first: the facts' full-size masks would otherwise come on top of it at the peak.
                del still
                return self._done(job, alpha, self.quality.assess(alpha), check_colour=False)
            frame = Frame(image=still.image, origin=str(job.source), source_alpha=still.alpha)
            stages = self._stages()
            # A framed still is 8-bit: the 16-bit composite works at the source's own size.
            deep = studio.wants_deep(still, self.suffix, self.mask_only) and self.config.framing.canvas == "none"
            layered = self.suffix == ".psd"     # layers are made from the frame as the composite gets it
            for stage in stages[:-1] if deep or layered else stages:   # 16 bits: the composite is redone
                frame = stage(frame)
            verdict = self.quality.assess(frame.alpha, image=frame.image)
            if layered:
                studio.write_layered(job.output, still, frame, stages[-1])
                return self._done(job, frame.alpha, verdict, check_colour=False)   # layers: no pixels to check
            if deep:
                studio.write_deep(job.output, still, frame, stages[-1])
                return self._done(job, frame.alpha, verdict)
            pixels = frame.alpha if self.mask_only else frame.output
            write = partial(write_image, job.output, pixels, icc=still.icc, exif=still.exif)
            write(quality=self.config.stills.quality)
            if self.config.pure_white.enabled and not self.mask_only:
                check_written(job.output, pixels, self.config.pure_white, lambda quality: write(quality=quality))
            return self._done(job, frame.alpha, verdict)
        except LivematteError as exc:
            return Outcome("failed", job.source, job.output, str(exc))
        # Deliberately broad: a decoder, the model or the encoder failing on one file must be reported
        # with that file's name at the end, not end the batch. The type name keeps the cause visible.
        except Exception as exc:
            log.debug("%s failed", job.source, exc_info=True)
            return Outcome("failed", job.source, job.output, f"{type(exc).__name__}: {exc}")

    def _skipped(self, job: Job) -> Outcome:
        """An output from an earlier run: its flags and facts are read back from it (output_facts.recheck)."""
        verdict, facts = recheck(job.output, self.quality, self.colour, self.config.pure_white.band,
                                 self.config.stills.tile_pixels)
        return Outcome("skipped", job.source, job.output, "output exists", verdict=verdict, facts=facts)

    def _done(self, job: Job, alpha, verdict: Verdict, *, check_colour: bool = True) -> Outcome:
        colour = self.colour if check_colour else None
        facts = output_facts(job.output, alpha, colour, self.config.pure_white.band)
        return Outcome("done", job.source, job.output, verdict=verdict, facts=facts)

    def run(
        self, inputs: Sequence[str | os.PathLike], outdir: str | os.PathLike, *, progress: bool = True
    ) -> Summary:
        outdir = Path(outdir)
        check_outdir(inputs, outdir)
        prepare_folder(outdir)      # a read-only folder: one error now, not one per image
        images, ignored = find_images(inputs, exclude=outdir)
        jobs, refused = plan(images, outdir, self.suffix)
        summary = Summary(failed=list(refused), ignored=ignored, strict=self.config.quality.strict)
        started = time.perf_counter()
        with (
            opencv_threads(1 if self.workers > 1 and self.single_threaded_opencv else 0),
            _progress(len(jobs), progress) as bar,
            ThreadPoolExecutor(self.workers, "stills") as pool,
        ):
            futures = [pool.submit(self.process, job) for job in jobs]
            try:
                for future in as_completed(futures):
                    summary.add(future.result())
                    bar.update(1)
            except KeyboardInterrupt:
                # Images being written finish (atomically); queued ones are dropped, a rerun resumes.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        summary.seconds = time.perf_counter() - started
        return summary


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", desc="stills", disable=not enabled, dynamic_ncols=True)


def format_summary(summary: Summary) -> str:
    done = len(summary.done)
    rate = (
        f" in {summary.seconds:.1f} s ({done / summary.seconds:.2f} images/s)"
        if done and summary.seconds
        else ""
    )
    lines = [
        *image_lines(summary),
        f"done {done}, skipped {len(summary.skipped)} (output exists), failed {len(summary.failed)}{rate}",
    ]
    if summary.ignored:
        lines.append(
            f"left alone {len(summary.ignored)} non-image file(s) found in folders, e.g. {summary.ignored[0]}"
        )
    for outcome in sorted(summary.failed, key=lambda o: str(o.path)):
        lines.append(f"FAILED {outcome.path}: {outcome.reason}")
    lines += flagged_lines(summary)
    return "\n".join(lines)
