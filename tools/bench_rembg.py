#!/usr/bin/env python3
"""`livematte stills` at its defaults against rembg on the same images: images/s of whole batches.

  LIVEMATTE_HOME=... python tools/bench_rembg.py --rembg /work/rembg-venv/bin/python [--rounds 5] [--json F]

Each batch is a fresh process that loads its model, reads every image, writes one PNG per image and
exits: `python -m livematte stills IN -o OUT` (RGBA cut-outs, its own workers and threads) and
tools/rembg_peer.py in rembg's venv (decode, remove(only_mask=True), a grey PNG: less work than a
cut-out, so the ratio is if anything kind to rembg), with the same IS-Net weights livematte caches.
The peer runs twice: masks only, and RGBA cut-outs the way rembg's own folder command writes them
(what a user of `rembg p` gets, and what livematte writes). The three alternate round after round, each
round in the reverse order of the one before (ABC CBA), and the medians are compared, so a load that
drifts is spread over all. The machine, its cores and the load average at the start and the end are
printed: only the ratios mean anything on a shared machine. CPU seconds per image (user + system of the
batch's process) are printed beside: they move less with the load than wall time does.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine
from benchkit import REPO, SHARED

TESTDATA = SHARED / "testdata"
CUTOUTS = "rembg cut-outs"    # what `rembg p IN OUT` writes: RGBA PNGs


def photos() -> list[Path]:
    """The 14 alphamatting products and the 6 portraits: the sets whose quality the goals are about."""
    return [*sorted((TESTDATA / "alphamatting" / "input").glob("*.png")),
            *sorted((TESTDATA / "portraits_pseudo_alpha" / "image").glob("*.jpg"))]


def _timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def commands(folder: Path, out: Path, rembg: str, model: Path, extra: list[str]) -> dict[str, list[str]]:
    images = [str(p) for p in sorted(folder.iterdir())]
    return {
        "livematte": [sys.executable, "-m", "livematte", "stills", str(folder), "-o", str(out / "livematte"),
                      "--no-progress", "--overwrite", *extra],
        "rembg": [rembg, str(REPO / "tools" / "rembg_peer.py"), str(model), str(out / "rembg"), *images],
        CUTOUTS: [rembg, str(REPO / "tools" / "rembg_peer.py"), "--cutout", str(model), str(out / "cutouts"),
                  *images],
    }


def compare(images: list[Path], rembg: str, rounds: int, extra: list[str] = ()) -> dict:
    """{"machine", "images", "rounds", per tool: images/s and CPU s/image per round and median, "ratio"}."""
    sys.path.insert(0, str(REPO / "src"))
    from livematte.engine.provision import ensure_model
    from livematte.engine.spec import find_spec

    model = ensure_model(find_spec("isnet"))     # rembg's dis_custom runs the 1024² graph
    report: dict = {"machine": machine(), "images": len(images), "rounds": rounds}
    runs: dict[str, list[tuple[float, float]]] = {"livematte": [], "rembg": [], CUTOUTS: []}
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    with tempfile.TemporaryDirectory(prefix="bench-rembg-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i, path in enumerate(images):     # one flat folder, names in the order given
            os.symlink(path.resolve(), folder / f"{i:03d}{path.suffix}")
        todo = commands(folder, Path(tmp), rembg, model, list(extra))
        order = ["livematte", "rembg", CUTOUTS]
        for round_ in range(rounds):
            for name in order:
                runs[name].append(_timed(todo[name], env))
                print(f"round {round_ + 1}: {name} {len(images) / runs[name][-1][0]:.3f} images/s",
                      file=sys.stderr)
            order.reverse()
    for name, timings in runs.items():
        rates = [len(images) / wall for wall, _ in timings]
        report[name] = {"images_per_s": rates, "median_images_per_s": statistics.median(rates),
                        "cpu_s_per_image": [cpu / len(images) for _, cpu in timings],
                        "median_cpu_s_per_image": statistics.median(cpu / len(images) for _, cpu in timings)}
    report["ratio"] = report["livematte"]["median_images_per_s"] / report["rembg"]["median_images_per_s"]
    report["cpu_ratio"] = report["rembg"]["median_cpu_s_per_image"] / report["livematte"]["median_cpu_s_per_image"]
    report["ratio_cutouts"] = report["livematte"]["median_images_per_s"] / report[CUTOUTS]["median_images_per_s"]
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def summary(report: dict) -> str:
    m, lm, rb = report["machine"], report["livematte"], report["rembg"]
    return (f"{m['cpu']}, {m['cores']} cores, load average {m['load_average_start'][0]:.1f} at the start, "
            f"{m['load_average_end'][0]:.1f} at the end; {report['images']} images, {report['rounds']} rounds "
            f"alternated, whole batches in fresh processes, PNG out\n"
            f"livematte stills {lm['median_images_per_s']:.3f} images/s ({lm['median_cpu_s_per_image']:.2f} CPU s "
            f"an image), rembg {rb['median_images_per_s']:.3f} images/s ({rb['median_cpu_s_per_image']:.2f} CPU s "
            f"an image): {report['ratio']:.2f}x rembg's images/s ({report['cpu_ratio']:.2f}x in CPU time)\n"
            f"rembg writing cut-outs as `rembg p` does {report[CUTOUTS]['median_images_per_s']:.3f} images/s "
            f"({report[CUTOUTS]['median_cpu_s_per_image']:.2f} CPU s an image): livematte "
            f"{report['ratio_cutouts']:.2f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rembg", required=True, help="python of a venv with rembg")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("livematte_args", nargs="*", help="after --: more `livematte stills` options")
    args = parser.parse_args(argv)
    report = compare(photos(), args.rembg, args.rounds, args.livematte_args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
