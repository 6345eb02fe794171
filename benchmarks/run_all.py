"""Run every benchmark and print the tables that ``docs/performance.md`` records.

    python benchmarks/run_all.py [--quick] [--output results.md]

Each script runs in its own process, one after the other (the transport and in-flight benchmarks
start ``serve_raw.py`` in a further process of its own, pinned to the other CPU), with this
checkout first on ``PYTHONPATH``.  Bounded: about 10 minutes on a 2-core machine; ``--quick`` a
few.  A script that fails (``transport.py`` does when the server was the limit) fails the run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import machine

HERE = Path(__file__).resolve().parent

#: (script, arguments, arguments with --quick, time limit in seconds)
SCRIPTS: list[tuple[str, list[str], list[str], float]] = [
    ("poll_schedule.py", [], ["--samples", "400", "--client-samples", "10"], 300),
    ("decode.py", [], [], 300),
    ("transport.py", [], ["--quick"], 900),
    ("in_flight.py", [], ["--repeats", "1"], 600),
    ("batch_requests.py", [], [], 600),
    ("webhooks.py", [], ["--jobs", "50"], 300),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and calls")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sections = [
        "# Benchmark results",
        "",
        f"Command: `python benchmarks/run_all.py{' --quick' if args.quick else ''}`, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Machine: {machine()}.",
        f"Load average before the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
    ]
    failed = []
    path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for script, normal, quick, limit in SCRIPTS:
        path = HERE / script
        if not path.exists():
            sections += [f"({script}: not present, skipped)", ""]
            continue
        print(f"running {script} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            result = subprocess.run(
                [sys.executable, str(path), *(quick if args.quick else normal)],
                capture_output=True,
                text=True,
                timeout=limit,
                cwd=HERE.parent,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), *path])},
            )
        except subprocess.TimeoutExpired:
            failed.append(script)
            sections += [f"({script}: did not finish within {limit:.0f} s)", ""]
            continue
        seconds = time.perf_counter() - t0
        print(f"  {script}: {seconds:.0f} s, exit {result.returncode}", file=sys.stderr)
        if result.returncode != 0:
            failed.append(script)
            sections += [f"({script} failed with exit code {result.returncode})", ""]
            sections += ["```", result.stderr.strip()[-3000:], "```", ""]
        sections += [result.stdout.strip(), "", f"({script}: {seconds:.0f} s)", ""]
    sections.append(f"Total: {time.perf_counter() - started:.0f} s.")
    report = "\n".join(sections)
    print(report)
    if args.output is not None:
        args.output.write_text(report + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
