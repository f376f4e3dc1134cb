#!/usr/bin/env python
"""livematte's one benchmark: file render, live latency and stills throughput, with a per-stage profile.

    python tools/bench.py [--quick] [--json PATH] [--only render,live,stills] [--runs N] [--src PATH]

Each area runs in its own child process (so its peak resident memory, ru_maxrss, is its own and one
area's allocations don't slow the next), one after the other; inside an area the variants compared
with each other are measured alternately, round after round, and medians are reported. The machine
(CPU, cores, load average at the start and end) is printed first: on a machine shared with other jobs,
compare the ratios measured side by side, not absolute fps between runs. `--src` measures another
source tree (e.g. a checkout of main as "before") with this same benchmark code. See tools/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
AREAS = ("render", "live", "stills")


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "platform": platform.platform()}


def run_area(area: str, args) -> dict:
    """One area in a child process; returns its result with the child's peak RSS and wall time."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    command = [sys.executable, str(TOOLS / "bench.py"), "--area", area, "--area-out", path]
    command += ["--quick"] * args.quick + (["--runs", str(args.runs)] if args.runs else [])
    command += ["--src", args.src] if args.src else []
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    try:
        if child.returncode != 0:
            raise SystemExit(f"bench: the {area} area failed (exit {child.returncode})")
        result = json.loads(Path(path).read_text())
    finally:
        os.unlink(path)
    result["process_peak_rss_mb"] = round(usage.ru_maxrss / 1024)   # Linux reports KiB
    result["area_seconds"] = round(time.perf_counter() - started, 1)
    return result


def area_module(area: str):
    sys.path.insert(0, str(TOOLS))
    return __import__(f"bench_{area}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 1080p only, two backgrounds, fewer rounds, shorter live runs")
    parser.add_argument("--json", metavar="PATH", help="also write every figure here")
    parser.add_argument("--only", default=",".join(AREAS), help="comma-separated areas (default: all)")
    parser.add_argument("--runs", type=int, help="rounds per area (default: render 5, live 3, stills 3; "
                                                 "--quick: 2, 1, 1)")
    parser.add_argument("--src", help="the livematte source tree to measure (default: this checkout's src)")
    parser.add_argument("--area", choices=AREAS, help=argparse.SUPPRESS)       # the child's side
    parser.add_argument("--area-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.area:
        sys.path.insert(0, str(TOOLS))
        from benchkit import use_source_tree

        use_source_tree(args.src, args.area)
        result = area_module(args.area).measure(args)
        Path(args.area_out).write_text(json.dumps(result))
        return 0

    areas = [a.strip() for a in args.only.split(",") if a.strip()]
    unknown = set(areas) - set(AREAS)
    if unknown:
        parser.error(f"--only: unknown area(s) {', '.join(sorted(unknown))}; choose from {', '.join(AREAS)}")
    report = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
              "src": args.src or str(TOOLS.parent / "src"), "quick": args.quick}
    m = report["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, load average at start "
          f"{' '.join(map(str, m['load_average_start']))} (1/5/15 min); source {report['src']}", flush=True)
    for area in areas:
        report[area] = run_area(area, args)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(f"machine: {m['cpu']}, {m['cores']} cores, load average start "
          f"{' '.join(map(str, m['load_average_start']))}, end {' '.join(map(str, m['load_average_end']))}")
    for area in areas:
        result = report[area]
        for line in area_module(area).table(result):
            print(line)
        print(f"  peak RSS of the {area} process: {result['process_peak_rss_mb']} MB; "
              f"{result['area_seconds']:g} s")
    if args.json:
        target = Path(args.json)
        temp = target.with_name(f".{target.name}.partial")
        temp.write_text(json.dumps(report, indent=2))
        os.replace(temp, target)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
