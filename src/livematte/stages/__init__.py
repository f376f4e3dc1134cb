"""Stages: small callables between the engine and the sinks, `stage(frame) -> Frame` plus `reset()`.

The stage plan is built in one place, here, from config, in named groups (plan.py). A stage that isn't
configured is left out of the plan, never switched off by a flag inside it. A stage that needs
look-ahead has `push(frame) -> list[Frame]` and `flush() -> list[Frame]` instead of `__call__`;
run_stages drives both kinds.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..config import Config
from ..frame import Frame
from .plan import StagePlan


def build_stages(config: Config, engine, *, video: bool = True, i420: bool = False) -> StagePlan:
    """matte: engine (video with [engine] keyframe_every: Keyframes) → temporal smoothing (video only);
    edges: refinement → decontamination;
    composite: compositing. See plan.py for what each group means to the threads that run them.

    i420: the output goes to a yuv420p encoder, so the composite may output I420 (Frame.output_i420)."""
    from ..engine.base import CoarseMatte
    from .backgrounds import kind_of
    from .composite import Composite
    from .decontaminate import Decontaminate
    from .refine import Refine
    from .smooth import LookaheadSmooth, Smooth

    refines = config.refine.feather > 0
    # Refinement reads alpha at low resolution and makes the full-size alpha itself: until then, the
    # engine and smoothing pass on the small prediction (Frame.coarse) rather than a full-size alpha.
    if video and config.engine.keyframe_every:
        matte: list = [_keyframes(config, engine, coarse=refines)]
    else:
        matte = [CoarseMatte(engine) if refines else engine]
    if video and config.smooth.enabled:
        smooth = LookaheadSmooth if config.smooth.lookahead > 0 else Smooth
        matte.append(smooth(config.smooth))
    edges: list = []
    if refines:
        edges.append(Refine(config.refine))
    # A background made of the colours that spill into the edges (blur) hides that spill: leave
    # decontamination out there rather than pay for it (see Kind.decontaminate).
    if config.decontaminate.enabled and kind_of(config.background.spec).decontaminate:
        edges.append(Decontaminate(config.decontaminate))
    return StagePlan(matte=matte, edges=edges, composite=[Composite.from_config(config, i420=i420)],
                     borrowed=(engine,))


def _keyframes(config: Config, engine, *, coarse: bool):
    """The engine every [engine] keyframe_every frames, with its fast model between (its own engine:
    one thread, beside the general model's worker)."""
    from dataclasses import replace

    from ..engine import load_engine
    from ..engine.keyframes import Keyframes

    e = config.engine
    fast = load_engine(e.fast_model, replace(e, model=e.fast_model, threads=1)) if e.fast_model else None
    return Keyframes(engine, e.keyframe_every, config.smooth, coarse=coarse, fast=fast)


def run_stages(stages: list, frames: Iterable[Frame]) -> Iterator[Frame]:
    stream: Iterator[Frame] = iter(frames)
    for stage in stages:
        stream = _apply(stage, stream)
    return stream


def _apply(stage, stream: Iterator[Frame]) -> Iterator[Frame]:
    if hasattr(stage, "push"):
        for frame in stream:
            yield from stage.push(frame)
        yield from stage.flush()
    else:
        for frame in stream:
            yield stage(frame)


def reset_stages(stages: list) -> None:
    for stage in stages:
        stage.reset()
