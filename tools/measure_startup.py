"""How long ``relay --help`` and ``relay inbox`` take to start, as an operator waits for them.

Each command runs as a fresh process (the venv's ``relay``) against a lab home with a few
messages, N times, after one warm-up run; prints the median and the spread, and the
slowest imports of one run (``python -X importtime``).  Target: 0.2 s on the Pi-class
2-core machine.  Usage: ``python tools/measure_startup.py [N]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RELAY = str(Path(sys.executable).parent / "relay")
COMMANDS = (["--help"], ["inbox"], ["--lang", "en", "inbox"])


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([RELAY, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def slowest_imports(args: list[str], env: dict[str, str], count: int = 8) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "relay", *args], env=env, capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"{us / 1000:7.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:count]]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOME": tmp, "RELAY_HOME": f"{tmp}/lab/HOL", "LANG": "C.UTF-8"}
        scenario = REPO / "relay" / "data" / "scenarios" / "modum.toml"
        subprocess.run(
            [RELAY, "lab", "setup", f"{tmp}/lab", "--scenario", str(scenario)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for n in range(3):
            subprocess.run(
                [RELAY, "send", "MELDING", "--text", f"Melding {n}."], env=env, check=True, stdout=subprocess.DEVNULL
            )
        for args in COMMANDS:
            timed(args, env)  # warm the page cache and the bytecode
            times = [timed(args, env) for _ in range(runs)]
            line = f"relay {' '.join(args):<16} median {statistics.median(times):.3f} s"
            print(f"{line}  (min {min(times):.3f}, max {max(times):.3f}, {runs} runs)")
        print("slowest imports of «relay inbox» (cumulative):")
        for row in slowest_imports(["inbox"], env):
            print("  " + row)


if __name__ == "__main__":
    main()
