"""Footprint figures for ``relay bench all``: CLI latency, store queries at scale, the daemon.

* CLI latency: ``relay --help``, ``relay inbox`` and ``relay send MELDING``
  (non-interactive) on a lab home, timed by hyperfine when it is installed,
  else as the median of repeated runs of the installed ``relay`` command.
* Store queries on a store of 100 000 signed messages: the rows are real
  signed messages (8 origins, text messages and receipts), encoded in worker
  processes and inserted in one transaction straight into the store's tables
  (a bulk path for this benchmark only; ``Store.insert`` verifies and commits
  one message at a time), then the queries the sync and the operator use are
  timed.
* The daemon: ``relay hw-sim`` with two loopback devices and a ``relay
  daemon`` on each, sampled from /proc (VmRSS, utime + stime) while idle and
  while one of them sends a batch the other stores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import IO, Any

from relay.core import wire
from relay.core.compose import compose
from relay.core.model import Kind, MessageRef, Priority
from relay.core.signing import Signer
from relay.edge import dictionaries
from relay.edge.home import Home
from relay.edge.store import Store
from relay.sim.lab import lab_homes

LAB_SCENARIO = """\
[mesh]
preset = "LONG_FAST"
seed = 1
duration = "1h"

[[node]]
id = "RIN"
name = "Ringerike kommune"

[[node]]
id = "HOL"
name = "Hole kommune"

[[link]]
a = "RIN"
b = "HOL"
loss = 0.0
"""
ORIGINS = ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL")
T0 = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FootprintConfig:
    cli_runs: int = 7
    store_messages: int = 100_000
    query_repeats: int = 5
    daemon_idle_s: float = 15.0
    daemon_batch: int = 20
    daemon_timeout_s: float = 120.0
    daemon: bool = True
    workers: int = 2


QUICK = FootprintConfig(
    cli_runs=1, store_messages=300, query_repeats=1, daemon_idle_s=1.0, daemon_batch=2, daemon=False, workers=1
)


# --- helpers ------------------------------------------------------------------------------


def relay_command() -> list[str]:
    """The installed ``relay`` script beside this interpreter, else ``python -m relay``."""
    script = Path(sys.executable).parent / "relay"
    return [str(script)] if script.exists() else [sys.executable, "-m", "relay"]


def lab(directory: Path) -> dict[str, Home]:
    """A two-node lab (RIN, HOL) trusting one roster, as ``relay lab setup`` makes it."""
    scenario = directory / "lab.toml"
    scenario.write_text(LAB_SCENARIO, encoding="utf-8")
    nodes = lab_homes(directory / "lab", scenario, exercise=True, when=datetime.now(UTC))
    return {n: Home(directory / "lab" / n) for n in nodes}


def _signed(signer: Signer, origin: str, seq: int, kind: Kind, text: str, priority: Priority) -> wire.SignedMessage:
    created = T0 + timedelta(seconds=seq * 7)
    if kind is Kind.KVITTERING:
        msg = compose(kind, origin, seq, created, priority=priority, ref=MessageRef("RIN", max(1, seq - 1)))
    else:
        msg = compose(kind, origin, seq, created, text=text, priority=priority)
    return wire.encode(msg, signer, dictionaries.current())


def _timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- CLI latency ----------------------------------------------------------------------------


def cli_latency(cfg: FootprintConfig, work: Path) -> dict[str, Any]:
    homes = lab(work)
    hol, rin = homes["HOL"], homes["RIN"]
    # Something to list: 20 messages from RIN, received by HOL.
    store = hol.store()
    signer = rin.signer()
    for seq in range(1, 21):
        signed = _signed(
            signer, "RIN", seq, Kind.MELDING, "Strømbrudd i sentrum, aggregat på rådhuset.", Priority.RUTINE
        )
        store.insert(signed, datetime.now(UTC))
    store.close()
    relay = relay_command()
    commands = {
        "relay --help": [*relay, "--help"],
        "relay inbox (20 messages)": [*relay, "--home", str(hol.path), "inbox"],
        "relay send MELDING --yes": [
            *relay,
            "--home",
            str(rin.path),
            "send",
            "MELDING",
            "--text",
            "Strømmen er tilbake i sentrum. Aggregatet på rådhuset står i beredskap.",
            "--yes",
        ],
    }
    hyperfine = shutil.which("hyperfine")
    rows = []
    for name, argv in commands.items():
        if hyperfine:
            median, tool = _hyperfine(hyperfine, argv, cfg.cli_runs, work), "hyperfine"
        else:
            median, tool = _repeat(argv, cfg.cli_runs), "subprocess"
        rows.append({"command": name, "median_s": round(median, 3), "runs": cfg.cli_runs, "tool": tool})
    return {"rows": rows}


def _repeat(argv: Sequence[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True, stdin=subprocess.DEVNULL)  # warm the page cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _hyperfine(exe: str, argv: Sequence[str], runs: int, work: Path) -> float:
    import shlex

    out = work / "hyperfine.json"
    subprocess.run(
        [exe, "--warmup", "1", "--runs", str(runs), "--export-json", str(out), "--style", "none", shlex.join(argv)],
        capture_output=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return float(json.loads(out.read_text())["results"][0]["median"])


# --- the store at 100 000 messages ------------------------------------------------------------

TEXTS = (
    "Strømbrudd i sentrum, aggregat på rådhuset.",
    "Vannverket melder trykkfall. Kok vannet inntil videre.",
    "Fv 287 stengt ved Eggedal etter ras. Omkjøring via Sigdal.",
    "Evakuerte- og pårørendesenter åpnet i Vikersund samfunnshus.",
    "Mobilnettet er nede i Sokna. Bruk nødnett eller satellittelefon.",
    "Kriseledelsen samles kl 18 på rådhuset.",
    "Behov for to personer med IKT-kompetanse til Modum.",
    "Normal drift. Ingen nye hendelser siste time.",
)


def _encode_chunk(args: tuple[str, int, int, int]) -> list[tuple[Any, ...]]:
    """Rows for ``origin`` numbered first..last (a worker's share), ready for executemany."""
    origin, first, last, seed = args
    signer = Signer.from_seed(bytes([ORIGINS.index(origin)]) * 32)
    rng = random.Random(f"{seed}/{origin}/{first}")
    rows = []
    for seq in range(first, last + 1):
        kind = Kind.KVITTERING if rng.random() < 0.5 else Kind.MELDING
        priority = rng.choices(list(Priority), weights=(1, 5, 20, 74))[0]
        signed = _signed(signer, origin, seq, kind, rng.choice(TEXTS), priority)
        msg = signed.message
        received = (T0 + timedelta(seconds=seq * 7 + 30)).isoformat(timespec="seconds")
        local = int(origin == "RIN")
        rows.append(
            (
                origin,
                seq,
                signed.digest,
                signed.key_id,
                msg.kind.value,
                msg.priority.rank,
                int(msg.exercise),
                msg.created.isoformat(timespec="seconds"),
                received,
                signed.wire,
                local,
                0,
                received if local else None,
                received if local or rng.random() < 0.9 else None,
                str(msg.ref) if msg.ref else None,
            )
        )
    return rows


def build_store(path: Path, total: int, workers: int) -> tuple[Store, float]:
    """A store at ``path`` holding ``total`` signed messages from 8 origins; seconds it took."""
    started = time.perf_counter()
    per_origin = max(1, total // len(ORIGINS))
    step = max(1, min(2500, per_origin))
    jobs = [
        (origin, first, min(first + step - 1, per_origin), 1)
        for origin in ORIGINS
        for first in range(1, per_origin + 1, step)
    ]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            chunks = list(pool.map(_encode_chunk, jobs))
    else:
        chunks = [_encode_chunk(j) for j in jobs]
    store = Store(path, dictionaries.available())
    store.bulk_load(chunks, dict.fromkeys(ORIGINS, per_origin))  # one transaction; the rows were just signed
    return store, time.perf_counter() - started


def store_queries(cfg: FootprintConfig, work: Path) -> dict[str, Any]:
    store, build_s = build_store(work / "big.db", cfg.store_messages, cfg.workers)
    try:
        count = store.count()
        per_origin = count // len(ORIGINS)
        ahead = {o: per_origin + 50 for o in ORIGINS}  # a peer holding 50 more of each origin
        behind = {o: max(0, per_origin - 100) for o in ORIGINS}  # a peer lacking the last 100 of each
        r = cfg.query_repeats

        def log_page() -> object:
            return store.newest(50)

        queries: list[tuple[str, str, Callable[[], object], int]] = [
            ("summary()", "the sync's summary: per origin, the contiguous head", store.summary, r),
            ("extras()", "holes above the heads", store.extras, r),
            ("missing(peer 50 ahead)", "what to ask a neighbour for (400 ids)", lambda: store.missing(ahead), r),
            ("offer(peer 100 behind)", "what to push to a neighbour (800 ids)", lambda: store.offer(behind), r),
            ("digest()", "SHA-256 over every (origin, seq, digest)", store.digest, r),
            ("get(origin, seq)", "one message (relay show)", lambda: store.get("HOL", per_origin // 2), r),
            ("log page (50 newest)", "50 rows decoded: a paged log", log_page, r),
            ("inbox(node=HOL)", f"one origin's {per_origin} messages, decoded", lambda: store.inbox(node="HOL"), 1),
            ("inbox()", f"every received message ({count - per_origin}), decoded: relay inbox", store.inbox, 1),
            ("log()", f"every message ({count}), decoded: relay log", store.log, 1),
        ]
        rows = []
        for name, what, fn, repeats in queries:
            seconds = _timed(fn, repeats)
            rows.append({"query": name, "what": what, "median_s": round(seconds, 4), "repeats": repeats})
        size = (work / "big.db").stat().st_size
        return {
            "messages": count,
            "build_s": round(build_s, 1),
            "db_bytes": size,
            "rows": rows,
        }
    finally:
        store.close()


# --- the daemon ---------------------------------------------------------------------------


def daemon_available() -> str | None:
    """None when what ``relay daemon`` and ``relay hw-sim`` run is here, else why not.

    Asks the modules, not the CLI (relay.bench never imports relay.cli): relay.daemon
    is imported, as the daemon needs it whole; relay.hwsim.server is only looked up,
    since importing it loads meshtastic's protobufs, which hw-sim does in its own process."""
    try:
        from relay import daemon as _daemon  # noqa: F401
    except ImportError as exc:
        return f"relay.daemon is not importable ({exc})"
    if importlib.util.find_spec("relay.hwsim.server") is None:
        return "no relay.hwsim.server for `relay hw-sim`"
    return None


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stderr: IO[bytes]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@contextmanager
def _processes() -> Iterator[list[_Proc]]:
    procs: list[_Proc] = []
    try:
        yield procs
    finally:
        for p in reversed(procs):
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
            if p.popen.stdout is not None:
                p.popen.stdout.close()
            p.stderr.close()


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def _start(procs: list[_Proc], name: str, argv: list[str], work: Path, stdout: int | IO[bytes]) -> _Proc:
    log = work / f"{name}.log"
    stderr = log.open("wb")
    popen = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True)
    proc = _Proc(name, popen, log, stderr)
    procs.append(proc)
    return proc


def _says(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log.read_text(errors="replace")


def _sample(pids: dict[str, int], seconds: float) -> dict[str, dict[str, float]]:
    before = {n: _cpu_s(p) for n, p in pids.items()}
    started = time.monotonic()
    peak = dict.fromkeys(pids, 0)
    while time.monotonic() - started < seconds:
        for n, p in pids.items():
            peak[n] = max(peak[n], _rss_kb(p))
        time.sleep(0.2)
    wall = time.monotonic() - started
    return {
        n: {
            "cpu_percent": round(100 * (_cpu_s(p) - before[n]) / wall, 2),
            "rss_mb": round(peak[n] / 1024, 1),
        }
        for n, p in pids.items()
    }


def daemon_footprint(cfg: FootprintConfig, work: Path) -> dict[str, Any]:
    why = daemon_available()
    if why is not None:
        return {"measured": False, "reason": why}
    homes = lab(work)
    relay = relay_command()
    with _processes() as procs:
        hw = _start(procs, "hw-sim", [*relay, "hw-sim", "--scenario", str(work / "lab.toml")], work, subprocess.PIPE)
        endpoints: dict[str, str] = {}
        assert hw.popen.stdout is not None
        deadline = time.monotonic() + 30
        while len(endpoints) < 2 and time.monotonic() < deadline:
            line = hw.popen.stdout.readline()
            if not line:
                break
            info = json.loads(line)
            endpoints[info["node"]] = info["tcp"]
        if len(endpoints) < 2:
            return {"measured": False, "reason": f"relay hw-sim gave no endpoints: {hw.log.read_text()[-300:]}"}
        daemons = {}
        for node in ("RIN", "HOL"):
            argv = [*relay, "--home", str(homes[node].path), "daemon", "--radio", f"tcp://{endpoints[node]}"]
            daemons[node] = _start(procs, f"daemon-{node}", argv, work, subprocess.DEVNULL)
        for node, proc in daemons.items():
            _wait_for(_says(proc.log, "radio connected"), 60, f"{node} to connect")
        pids = {f"daemon {n}": p.popen.pid for n, p in daemons.items()}
        time.sleep(2.0)  # past the connect handshake
        idle = _sample(pids, cfg.daemon_idle_s)
        # A batch committed at RIN the way `relay send` commits it; HOL's daemon stores what it hears.
        store = homes["RIN"].store()
        signer = homes["RIN"].signer()
        now = datetime.now(UTC)
        for i in range(cfg.daemon_batch):
            text = TEXTS[i % len(TEXTS)]

            def build(seq: int, text: str = text) -> wire.SignedMessage:
                msg = compose(Kind.MELDING, "RIN", seq, now, text=text, priority=Priority.RUTINE)
                return wire.encode(msg, signer, dictionaries.current())

            store.commit_local("RIN", build, now)
        store.close()
        before = {n: _cpu_s(p) for n, p in pids.items()}
        started = time.monotonic()
        peak = dict.fromkeys(pids, 0)
        holder = homes["HOL"].store()

        def done() -> bool:
            for n, p in pids.items():
                peak[n] = max(peak[n], _rss_kb(p))
            return holder.count() >= cfg.daemon_batch

        try:
            _wait_for(done, cfg.daemon_timeout_s, f"HOL to store {cfg.daemon_batch} messages")
            synced = True
        except TimeoutError:
            synced = False
        finally:
            held = holder.count()
            holder.close()
        wall = time.monotonic() - started
        syncing = {
            n: {
                "cpu_percent": round(100 * (_cpu_s(p) - before[n]) / wall, 2),
                "cpu_s": round(_cpu_s(p) - before[n], 2),
                "rss_mb": round(peak[n] / 1024, 1),
            }
            for n, p in pids.items()
        }
        hwm = {n: round(_rss_kb(p, "VmHWM") / 1024, 1) for n, p in pids.items()}
        for proc in procs:
            if proc.popen.poll() is not None:
                return {"measured": False, "reason": f"{proc.name} exited early: {proc.log.read_text()[-300:]}"}
    return {
        "measured": True,
        "preset": "LONG_FAST",
        "idle_s": cfg.daemon_idle_s,
        "idle": idle,
        "batch": cfg.daemon_batch,
        "synced": synced,
        "held": held,
        "sync_wall_s": round(wall, 1),
        "syncing": syncing,
        "peak_rss_mb": hwm,
    }


# --- all of it ------------------------------------------------------------------------------


def run_all(cfg: FootprintConfig, progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        steps: list[tuple[str, Callable[[FootprintConfig, Path], dict[str, Any]]]] = [
            ("cli", cli_latency),
            ("store", store_queries),
        ]
        if cfg.daemon:
            steps.append(("daemon", daemon_footprint))
        for name, fn in steps:
            progress(f"footprint: {name} ...")
            started = time.perf_counter()
            work = Path(tmp) / name
            work.mkdir()
            try:
                out[name] = fn(cfg, work)
            except (OSError, subprocess.SubprocessError, TimeoutError, ValueError) as exc:
                out[name] = {"measured": False, "reason": f"{type(exc).__name__}: {exc}"}
            out[name]["elapsed_s"] = round(time.perf_counter() - started, 1)
        if not cfg.daemon:
            out["daemon"] = {"measured": False, "reason": "skipped in this configuration"}
    return out
