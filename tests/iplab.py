"""Real ``relay daemon`` processes on the IP path alone (``--radio none``), for the broker tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from relay.edge.home import Home, IpConfig

REPO = Path(__file__).resolve().parents[1]
SPEEDUP = 20.0  # the sync's timers, as the radio labs run them


def configure_ip(home: Home, url: str, password: str, ca_file: str | None = None, username: str | None = None) -> None:
    """``[ip]`` in the node's relay.toml, its password in a file beside it."""
    secret = home.path / "mqtt.pass"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    ip = IpConfig(url, username=username, password_file=str(secret), ca_file=ca_file)
    home.write_config(replace(home.config(), ip=ip))


class IpDaemons:
    """One IP-only daemon per home, each logging to ``base/NAME.log``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, home: Home, *extra: str, env: dict[str, str] | None = None) -> None:
        """``env`` None: the journal in English (RELAY_LANG=en), which the tests read."""
        log = (self.base / f"{name}.log").open("ab")
        args = ["--home", str(home.path), "daemon", "--radio", "none", "--time-scale", str(SPEEDUP), *extra]
        env = env if env is not None else {**os.environ, "RELAY_LANG": "en"}
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "relay", *args], cwd=REPO, stdout=log, stderr=log, env=env
        )

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
