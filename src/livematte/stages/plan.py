"""StagePlan: the stages build_stages chose, in named groups, so that the render pipeline and the live
path place work by group and never by recognising a stage's class or module.

    matte      the engine and temporal smoothing: one thread that sees every frame, in order
    edges      refinement, decontamination: what sharpens and cleans the matte (may be empty)
    composite  background, shadow and compositing: what a live settings change rebuilds

The plan is also the flat sequence of its stages, in order (run_stages, indexing and slicing work on it).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

GROUPS = ("matte", "edges", "composite")


@dataclasses.dataclass(frozen=True)
class StagePlan(Sequence):
    matte: tuple = ()
    edges: tuple = ()
    composite: tuple = ()
    # stages the plan uses but does not own, so does not close: the engine, which outlives the plan
    # (a server shares one among its peers and keeps it across settings changes)
    borrowed: tuple = dataclasses.field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name in GROUPS:     # groups are tuples: a plan is shared by threads and never changes
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def stages(self) -> tuple:
        return self.matte + self.edges + self.composite

    def groups(self) -> dict[str, tuple]:
        return {name: getattr(self, name) for name in GROUPS}

    def replace(self, **groups) -> StagePlan:
        return dataclasses.replace(self, **groups)

    def close(self, keep: Sequence = ()) -> None:
        """Close every stage this plan owns (a background video's decoder, ...), except those in `keep`:
        the stages a plan that replaces this one took over."""
        spared = (*self.borrowed, *keep)
        close_all(s for s in self.stages if not any(s is other for other in spared))

    def __iter__(self) -> Iterator:
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, index):
        return self.stages[index]


def close_all(stages) -> None:
    """Close each stage that has close(), all of them even when one fails (the first error is raised)."""
    failure: BaseException | None = None
    for stage in stages:
        close = getattr(stage, "close", None)
        if close is None:
            continue
        try:
            close()
        except Exception as exc:     # the rest still get closed; the first error is what the caller sees
            failure = failure or exc
    if failure is not None:
        raise failure
