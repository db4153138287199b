"""An operator at a real terminal (tmux) writing a SITREP with ``relay send``: Ctrl-C halfway
keeps what was typed, ``relay send --resume`` asks only for the rest, a bad time is asked
again in place with nothing else lost, and the preview comes before signing.

tmux is a system program: the test skips without it on a developer's machine and fails
under ``.ci/run``, which installs it (tests/system_tools.py).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import relay
from relay.edge.home import Home
from tests import system_tools

REPO = Path(relay.__file__).resolve().parents[1]
SCENARIO = REPO / "relay" / "data" / "scenarios" / "modum.toml"
RELAY = str(Path(sys.executable).parent / "relay")


class Tmux:
    """One tmux server on its own socket, one window, read from the screen as a person reads it.
    Each ``start`` uses a new socket: ``kill-server`` returns before the old server exits,
    and a new session on its socket meanwhile failed ("server exited unexpectedly")."""

    def __init__(self, tmux: str, sockets: Path, env: dict[str, str]) -> None:
        self.tmux = tmux
        self.sockets = sockets
        self.started = 0
        self.base = [tmux, "-S", str(sockets / "tmux-0.sock"), "-f", "/dev/null"]
        self.env = env
        self.seen = 0  # screen lines already matched

    def run(self, *args: str) -> str:
        done = subprocess.run([*self.base, *args], capture_output=True, text=True, env=self.env, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, command: str) -> None:
        """Run ``command`` in a fresh window; its exit status is printed after it as EXIT=N."""
        shell = f"{command}; echo EXIT=$?; sleep 600"
        self.started += 1
        self.base = [self.tmux, "-S", str(self.sockets / f"tmux-{self.started}.sock"), "-f", "/dev/null"]
        self.run(
            "new-session",
            "-d",
            "-s",
            "send",
            "-x",
            "220",
            "-y",
            "60",
            "bash --norc --noprofile -c " + shlex.quote(shell),
        )
        self.seen = 0

    def screen(self) -> list[str]:
        return self.run("capture-pane", "-p", "-t", "send", "-S", "-500").rstrip("\n").splitlines()

    def expect(self, text: str, timeout: float = 20.0) -> str:
        """Wait until a screen line after the last match contains ``text``; that line."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            for i in range(self.seen, len(lines)):
                if text in lines[i]:
                    self.seen = i + 1
                    return lines[i]
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {text!r}; the screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def type(self, answer: str) -> None:
        if answer:
            self.run("send-keys", "-t", "send", "-l", answer)
        self.run("send-keys", "-t", "send", "Enter")

    def interrupt(self) -> None:
        self.run("send-keys", "-t", "send", "C-c")

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, env=self.env, timeout=20)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    binary = system_tools.require(shutil.which("tmux"), "tmux", "apt-get install tmux")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAY_", "LC_", "TMUX"))}
    env.update(HOME=str(tmp_path), LANG="C.UTF-8", TERM="xterm")
    subprocess.run([RELAY, "lab", "setup", str(tmp_path / "lab"), "--scenario", str(SCENARIO)], env=env, check=True)
    session = Tmux(binary, tmp_path, env)
    yield session
    session.stop()


def test_ctrl_c_keeps_the_draft_and_resume_fixes_a_bad_time_in_place(tmux: Tmux, tmp_path: Path) -> None:
    home = tmp_path / "lab" / "MOD"
    send = f"{RELAY} --home {home} send"
    tmux.start(f"{send} SITREP")
    for prompt, answer in [
        ("Prioritet (NØD/HASTER/PRIORITET/RUTINE):", "haster"),
        ("Til (ALLE, KOMMUNER, RIN, HOL, JEV, MOD, KRO, SIG, SF, POL eller rolle@node):", "KOMMUNER"),
        ("Rapport nr:", "to"),  # not a number: asked again, the rest kept
        ("forventet et heltall", None),
        ("Rapport nr:", "2"),
        ("Periode [valgfritt]:", ""),
        ("Situasjon:", "Vannlekkasje i Vikersund, vi ringer om en time."),
        ("Konsekvenser [valgfritt]:", ""),
    ]:
        tmux.expect(prompt)
        if answer is not None:
            tmux.type(answer)
    tmux.expect("Tiltak iverksatt:")
    tmux.interrupt()
    tmux.expect("Avbrutt. Utkastet er lagret (SITREP): fortsett med «relay send --resume».")
    tmux.expect("EXIT=130")
    assert Home(home).store().count() == 0
    tmux.stop()

    started = datetime.now(UTC)
    tmux.start(f"{send} --resume")
    tmux.expect("Tiltak iverksatt:")  # priority, addressee and the first four fields are not asked again
    tmux.type("Vakt fra teknisk etat.")
    for prompt, answer in [
        ("Planlagte tiltak [valgfritt]:", ""),
        ("Behov:", "Ingen."),
        ("Vurdering [valgfritt]:", ""),
        ("Informasjon til publikum [valgfritt]:", ""),
        ("Neste rapport (f.eks. 18:00, +2t, i morgen 08:00, nå):", "om en stund"),
        ("ugyldig tidspunkt 'om en stund'", None),  # said at once, and asked again in place
        ("Neste rapport (f.eks. 18:00, +2t, i morgen 08:00, nå):", "+2t"),
        ("Antall på EPS [valgfritt]:", ""),
    ]:
        tmux.expect(prompt)
        if answer is not None:
            tmux.type(answer)
    tmux.expect("Forhåndsvisning:")
    for label, value in (("Til:", "KOMMUNER"), ("Prioritet:", "HASTER"), ("Rapport nr:", "2")):
        assert re.fullmatch(rf"\s*{label}\s+{value}\s*", tmux.expect(label))
    situation = tmux.expect("Situasjon:")
    assert re.search(r"Vannlekkasje i Vikersund, vi ringer kl \d\d:\d\d \d\d\.\d\d\.\d{4}\.$", situation), situation
    tmux.expect("Neste rapport:")
    tmux.expect("SITREP til KOMMUNER, HASTER, ØVELSE:")
    tmux.expect("Signer og send? [J/n]:")
    tmux.type("j")
    tmux.expect("MOD-0001 lagt i utboksen.")
    tmux.expect("EXIT=0")

    store = Home(home).store()
    try:
        (stored,) = store.log()
    finally:
        store.close()
    msg = stored.message
    assert (msg.priority.value, str(msg.to), msg.get("report_no"), msg.get("needs")) == (
        "HASTER",
        "KOMMUNER",
        2,
        "Ingen.",
    )
    next_report = msg.get("next_report")
    assert isinstance(next_report, datetime)
    assert timedelta(hours=2) - timedelta(minutes=1) <= next_report - started <= timedelta(hours=2, minutes=2)
    assert "om en time" not in str(msg.get("situation"))
