"""How long ``relay --help`` and ``relay inbox`` take to start, as an operator waits for them.

Each command runs as a fresh process (``python -m relay``) against a lab home with a few
messages, N times, after one warm-up run; prints the median and the spread, and the
slowest imports of one run (``python -X importtime``).  Target: 0.2 s on the Pi-class
2-core machine.  Usage: ``python tools/measure_startup.py [N] [SOURCE]``; SOURCE, a folder
holding another ``relay`` package (``git archive COMMIT relay | tar -x -C SOURCE``), measures
that code instead, for a before and after on the same machine in the same minute.  The
package is byte-compiled first, as an install on the Pi is: where PYTHONDONTWRITEBYTECODE is
set (this machine sets it), every run would otherwise compile the sources again (50 ms).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RELAY = str(Path(sys.executable).parent / "relay")  # sets up the lab: always this checkout's
MODULE = [sys.executable, "-m", "relay"]
COMMANDS = (["--help"], ["inbox"], ["--lang", "en", "inbox"])


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run: on a busy machine the CPU time
    says more about the code than the wall clock does.  Run outside the checkout: ``-m``
    puts the working directory first on the path, before SOURCE."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*MODULE, *args], env=env, check=True, stdout=subprocess.DEVNULL, cwd=env["HOME"])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowest_imports(args: list[str], env: dict[str, str], count: int = 8) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "relay", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=env["HOME"],
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:7.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:count]]


def lab(tmp: str, env: dict[str, str]) -> None:
    """A lab with three messages in Hole's outbox."""
    quiet = {"env": env, "check": True, "stdout": subprocess.DEVNULL}
    scenario = REPO / "relay" / "data" / "scenarios" / "modum.toml"
    subprocess.run([RELAY, "lab", "setup", f"{tmp}/lab", "--scenario", str(scenario)], **quiet)  # type: ignore[call-overload]
    for n in range(3):
        subprocess.run([RELAY, "send", "MELDING", "--text", f"Melding {n}."], **quiet)  # type: ignore[call-overload]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOME": tmp, "RELAY_HOME": f"{tmp}/lab/HOL", "LANG": "C.UTF-8"}
        lab(tmp, env)
        source = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else REPO
        if len(sys.argv) > 2:
            env["PYTHONPATH"] = str(source)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(source / "relay")], check=True)
        for args in COMMANDS:
            timed(args, env)  # warm the page cache and the bytecode
            walls, cpus = zip(*(timed(args, env) for _ in range(runs)), strict=True)
            line = f"relay {' '.join(args):<16} median {statistics.median(walls):.3f} s"
            print(f"{line}  (min {min(walls):.3f}, max {max(walls):.3f}; CPU median {statistics.median(cpus):.3f} s)")
        print("slowest imports of «relay inbox» (cumulative):")
        for row in slowest_imports(["inbox"], env):
            print("  " + row)


if __name__ == "__main__":
    main()
