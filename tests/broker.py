"""A real mosquitto for the tests: on a loopback port, with passwords and the region's ACL.

``Broker``: the ACL ``relay broker config`` writes (``relay.deploy.broker``:
each node publishes only under its own id, reads the whole region), client ids
tied to logins and no retained messages, as that command writes them, with a
plain loopback listener instead of TLS, or TLS with a throw-away CA.
``Mosquitto``: any configuration, such as the whole output of ``relay broker
config`` (``include_dir``).  Stopping and starting again keeps the port, as a
broker restart does.
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

from relay.deploy.broker import Served, render_acl
from tests import system_tools

REPO = Path(__file__).resolve().parents[1]


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    return system_tools.require(found, "mosquitto", "apt-get install mosquitto")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_lines(base: Path) -> list[str]:
    """Run as root, mosquitto would drop to a user who cannot read tmp; log to a file we read."""
    return [
        f"user {getpass.getuser()}",
        f"log_dest file {base / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
    ]


class Mosquitto:
    """``mosquitto -c BASE/mosquitto.conf``, the file ``conf`` (lines), listening on ``port``."""

    def __init__(self, base: Path, port: int, conf: list[str], scheme: str) -> None:
        self.binary = find_mosquitto()
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.conf = base / "mosquitto.conf"
        self.conf.write_text("\n".join(log_lines(base) + conf) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.scheme = scheme

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _tool(self, name: str) -> str:
        found = shutil.which(name) or str(Path(self.binary).parent.parent / "bin" / name)
        return found if Path(found).exists() else name

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise AssertionError(f"mosquitto exited ({self.proc.returncode}): {err}{self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        path = self.base / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Broker(Mosquitto):
    """A broker on a loopback port with ``users`` (name -> password) allowed in on ``topic``."""

    def __init__(
        self, base: Path, users: dict[str, str], topic: str, tls: tuple[Path, Path, Path] | None = None
    ) -> None:
        base.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.topic = topic
        passwords = base / "passwd"
        passwords.write_text("".join(f"{user}:{password}\n" for user, password in users.items()))
        passwords.chmod(0o600)
        acl = base / "acl"
        region_id = topic.removeprefix("relay/")
        acl.write_text(render_acl([Served(region_id, tuple(u for u in users if not u.startswith("bridge-")))]))
        acl.chmod(0o600)
        lines = [
            "per_listener_settings false",
            "retain_available false",
            f"listener {port} 127.0.0.1",
            "use_username_as_clientid true",  # as relay broker config writes it: a login is its client id
            "allow_anonymous false",
            f"password_file {passwords}",
            f"acl_file {acl}",
            "persistence false",
        ]
        if tls is not None:
            ca, cert, key = tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        super().__init__(base, port, lines, "mqtts" if tls is not None else "mqtt")
        subprocess.run([self._tool("mosquitto_passwd"), "-U", str(passwords)], check=True)
