"""What a batch tells the person who ran it: the flagged lines of the summary and the --report JSON.

The report is one JSON object, written atomically (a temporary file in the same folder, then renamed):
    {"version": 1, "kind": "stills", "ok": bool, "strict": bool, "counts": {...}, "seconds": float,
     "records": [{"input", "output", "status", "error", "coverage", "flags",
                  "size", "bytes", "fill", "box", "background", "pure_background", "impure_pixels"}, ...]}
one record per input: status is done | skipped | failed; error is null unless failed; coverage (share of
the image that is foreground) is null where no matte was made; flags is [] when nothing is suspect
(quality.py). The output's facts (OutputFacts, measured on the file as written): size [w, h], bytes, the
subject's box [x, y, w, h] and fill (the box against the canvas), and for a solid-colour background its
colour and whether every background pixel is exactly it after encoding (pure_background; null otherwise).
They are null where no output was read (output_facts.py). `livematte render --report` writes
{"kind": "render", ...} with the frames flagged.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .atomic import atomic_file

SCHEMA_VERSION = 1


def record(outcome) -> dict[str, Any]:
    """One stills Outcome as a report record."""
    verdict = outcome.verdict
    return {
        "input": str(outcome.path),
        "output": str(outcome.output) if outcome.output is not None else None,
        "status": outcome.status,
        "error": outcome.reason or None if outcome.status == "failed" else None,
        "coverage": round(verdict.coverage, 4) if verdict is not None else None,
        "flags": list(outcome.flags),
        **(outcome.facts.as_dict() if outcome.facts is not None else dict.fromkeys(_FACT_KEYS)),
    }


_FACT_KEYS = ("size", "bytes", "fill", "box", "background", "pure_background", "impure_pixels")


def stills_report(summary) -> dict[str, Any]:
    outcomes = sorted([*summary.done, *summary.skipped, *summary.failed], key=lambda o: str(o.path))
    return {
        "version": SCHEMA_VERSION,
        "kind": "stills",
        "ok": summary.ok,
        "strict": summary.strict,
        "counts": {"done": len(summary.done), "skipped": len(summary.skipped), "failed": len(summary.failed),
                   "flagged": len(summary.flagged)},
        "seconds": round(summary.seconds, 3),
        "records": [record(outcome) for outcome in outcomes],
    }


def render_report(report) -> dict[str, Any]:
    """A pipeline.RenderReport as JSON: what was written, and which frames were flagged, per flag."""
    return {
        "version": SCHEMA_VERSION,
        "kind": "render",
        "input": report.input,
        "output": report.output,
        "status": "interrupted" if report.interrupted else "done",
        "frames_written": report.frames_written,
        "frames_expected": report.frames_expected,
        "seconds": round(report.seconds, 3),
        "warnings": list(report.warnings),
        "corrupt_packets": len(report.corrupt_packets),
        **(report.quality.as_dict() if report.quality is not None else {}),
    }


def image_lines(summary) -> list[str]:
    """One line per output: its size, the subject's fill, whether the background is pure, flags."""
    lines = []
    for outcome in sorted([*summary.done, *summary.skipped], key=lambda o: str(o.path)):
        facts = outcome.facts
        if facts is None:
            continue
        fill = "no subject" if facts.fill is None else f"fill {facts.fill:.2f}"
        if facts.pure is None:
            background = ""
        elif facts.pure:
            background = f", {facts.colour} pure"
        else:
            background = f", {facts.colour} NOT pure ({facts.impure_pixels} px off)"
        flags = ", ".join(outcome.flags) or ("no flags" if outcome.verdict is not None else "flags unknown")
        if outcome.status == "skipped":
            flags += " (kept from an earlier run)"
        lines.append(f"  {outcome.output}: {facts.width}x{facts.height} {facts.bytes / 1024:.0f} KiB, {fill}"
                     f"{background}; {flags}")
    return lines


def flagged_lines(summary) -> list[str]:
    """Summary lines naming every flagged output and why; under --strict, that they failed the batch."""
    flagged = sorted(summary.flagged, key=lambda o: str(o.path))
    lines = [f"FLAGGED {o.path} -> {o.output}: {o.verdict.reason()}" for o in flagged]
    if flagged:
        verdict = "fail the batch (--strict)" if summary.strict else "check them (--strict makes this fail)"
        lines.insert(0, f"flagged {len(flagged)} suspect output(s); {verdict}")
    return lines


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> Path:
    """Write `data` as JSON to `path` atomically: a reader sees the old file or the whole new one."""
    path = Path(path)
    with atomic_file(path, "w") as file:
        json.dump(data, file, indent=1)
        file.write("\n")
    return path
