"""A node's home directory: config, key pair, roster, store.

    relay.toml      node id, name, radio URL, channel, exercise default, pinned authority
    node.key        the node's Ed25519 seed, mode 0600
    roster.json     the region's signed roster (as imported)
    relay.db        the store (SQLite, WAL)
    authority.key   only at the coordinating municipality: the roster authority's seed

``RELAY_HOME`` or ``--home`` chooses it; otherwise ``/var/lib/relay`` when
that exists (the system service), else ``~/.local/share/relay``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from relay.core.model import NODE_ID_RE
from relay.core.roster import Roster
from relay.core.signing import Signer
from relay.edge import dictionaries, keys
from relay.edge.store import DeskStore, Store
from relay.errors import ConfigError, DecodeError


def fingerprint(public_key: bytes) -> str:
    """A short, readable fingerprint to compare by phone or on paper: 4 groups of 4 hex."""
    h = hashlib.sha256(public_key).hexdigest()[:16].upper()
    return " ".join(h[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class IpConfig:
    """``[ip]`` in relay.toml: the MQTT broker of the IP path (``relay.edge.mqtt``)."""

    broker: str  # mqtt://HOST:PORT or mqtts://HOST:PORT
    topic: str | None = None  # must be relay/ and the roster's region id when set (it comes from the roster)
    username: str | None = None  # None: the node id
    password_file: str | None = None
    ca_file: str | None = None  # None: the system's CAs (mqtts only)

    def to_toml(self) -> str:
        lines = ["", "[ip]  # the IP path: frames through an MQTT broker where the network still works"]
        for key in IP_KEYS:
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {json.dumps(value)}")
        return "\n".join(lines) + "\n"


IP_KEYS = ("broker", "topic", "username", "password_file", "ca_file")


@dataclass(frozen=True)
class NodeConfig:
    node_id: str
    name: str
    radio: str | None = None
    channel_index: int = 0
    exercise: bool = False
    authority_key: str | None = None  # base64, pinned at the first roster import
    # Hop limits are chosen by the sync per frame from what it hears (as far as the
    # stores it hears over the hilltop repeaters of firmware-config/, 0 where the stores
    # relay for each other); these two override that choice.  ``relay_hops``: fresh
    # NØD and HASTER (SyncConfig.flood_hops); ``routine_hops``: fresh PRIORITET and
    # RUTINE (None: as relay_hops).  None: the sync chooses.
    relay_hops: int | None = None
    routine_hops: int | None = None
    # The radios' highest hop limit: relay never sends further (SyncConfig.max_hops).
    max_hops: int = 3
    ip: IpConfig | None = None  # [ip]: the broker, where IP still works

    def to_toml(self) -> str:
        lines = [
            "# relay node configuration",
            f"node_id = {json.dumps(self.node_id)}",
            f"name = {json.dumps(self.name, ensure_ascii=False)}",
            f"channel_index = {self.channel_index}",
            f"exercise = {'true' if self.exercise else 'false'}  # true: all traffic is marked ØVELSE",
            f"max_hops = {self.max_hops}  # the radios' highest hop limit (0-7): relay never sends further",
            "# Hop limits: unset, relay chooses one per frame from what it hears (over the",
            "# hilltop repeaters where it must, 0 where the town halls relay for each other).",
            "# Set them only to override that choice.",
        ]
        for key, value, what in (
            ("relay_hops", self.relay_hops, "fresh NØD and HASTER messages"),
            ("routine_hops", self.routine_hops, "fresh PRIORITET and RUTINE messages (unset: as relay_hops)"),
        ):
            example = 2 if key == "relay_hops" else 0
            setting = f"{key} = {value}" if value is not None else f"# {key} = {example}"
            lines.append(f"{setting}  # override: hop limit of {what}")
        if self.radio:
            lines.append(f"radio = {json.dumps(self.radio)}  # serial:///dev/ttyACM0 or tcp://HOST:4403")
        if self.authority_key:
            lines.append(f"authority_key = {json.dumps(self.authority_key)}")
        return "\n".join(lines) + "\n" + (self.ip.to_toml() if self.ip is not None else "")


# relay.toml holds exactly NodeConfig's fields, one key each: any other key (a typo
# such as ``relay_hop``) is refused rather than silently ignored.
CONFIG_KEYS = tuple(sorted(f.name for f in fields(NodeConfig)))


class Home:
    def __init__(self, path: Path) -> None:
        self.path = path

    config_path = property(lambda self: self.path / "relay.toml")
    key_path = property(lambda self: self.path / "node.key")
    roster_path = property(lambda self: self.path / "roster.json")
    db_path = property(lambda self: self.path / "relay.db")
    authority_key_path = property(lambda self: self.path / "authority.key")

    # --- creating --------------------------------------------------------------

    @classmethod
    def init(cls, path: Path, node_id: str, name: str, radio: str | None = None, exercise: bool = False) -> Home:
        node_id = node_id.strip().upper()
        if not NODE_ID_RE.match(node_id):
            raise ConfigError(code="bad_node_id", text=node_id)
        home = cls(path)
        if home.config_path.exists():
            raise ConfigError(code="home_taken", path=path, found=home.config_path.name)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys.write_new(home.key_path)
        home.write_config(NodeConfig(node_id, name.strip() or node_id, radio, exercise=exercise))
        home.store().close()
        return home

    def write_config(self, config: NodeConfig) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(config.to_toml(), encoding="utf-8")
        os.replace(tmp, self.config_path)

    # --- reading ---------------------------------------------------------------

    def config(self) -> NodeConfig:
        try:
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(code="no_node", path=self.path) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(code="config_damaged", path=self.config_path, reason=exc) from None
        for key in data:
            if key not in CONFIG_KEYS:
                known = ", ".join(CONFIG_KEYS)
                raise ConfigError(code="config_unknown_key", where=self.config_path, key=key, known=known)
        try:
            config = NodeConfig(
                node_id=str(data["node_id"]),
                name=str(data["name"]),
                radio=str(data["radio"]) if data.get("radio") else None,
                channel_index=int(data.get("channel_index", 0)),
                exercise=bool(data.get("exercise", False)),
                authority_key=str(data["authority_key"]) if data.get("authority_key") else None,
                relay_hops=None if data.get("relay_hops") is None else int(data["relay_hops"]),
                routine_hops=None if data.get("routine_hops") is None else int(data["routine_hops"]),
                max_hops=int(data.get("max_hops", 3)),
                ip=self._ip_config(data.get("ip")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(code="config_bad_field", path=self.config_path, reason=exc) from None
        for key in ("max_hops", "relay_hops", "routine_hops"):  # max_hops first: the others are checked against it
            value = getattr(config, key)
            if value is not None and not 0 <= value <= 7:
                raise ConfigError(code="config_hops_range", path=self.config_path, key=key)
            if key != "max_hops" and value is not None and value > config.max_hops:
                raise ConfigError(
                    code="config_hops_over_max", path=self.config_path, key=key, value=value, limit=config.max_hops
                )
        if not NODE_ID_RE.match(config.node_id):
            raise ConfigError(code="config_bad_node_id", path=self.config_path, node=config.node_id)
        return config

    def _ip_config(self, value: object) -> IpConfig | None:
        if value is None:
            return None
        where = f"{self.config_path}, [ip]"
        if not isinstance(value, dict):
            raise ConfigError(code="config_ip_not_table", where=where)
        for key in value:
            if key not in IP_KEYS:
                raise ConfigError(code="config_unknown_key", where=where, key=key, known=", ".join(IP_KEYS))
        if not value.get("broker"):
            raise ConfigError(code="config_ip_no_broker", where=where)
        return IpConfig(**{k: str(v) for k, v in value.items()})

    def signer(self) -> Signer:
        return keys.load(self.key_path)

    def store(self) -> Store:
        try:
            return Store(self.db_path, dictionaries.available())
        except sqlite3.DatabaseError as exc:
            raise ConfigError(code="store_unopenable", path=self.db_path, reason=exc) from None

    def desk(self) -> DeskStore:
        """The desk's accounts, sessions, drafts and authors (``desk.db``, 0600: it holds password hashes)."""
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / "desk.db"
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        return DeskStore(path)

    def roster(self) -> Roster:
        config = self.config()
        try:
            text = self.roster_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(code="no_roster") from None
        pinned = base64.b64decode(config.authority_key) if config.authority_key else None
        try:
            return Roster.from_json(text, pinned)
        except DecodeError as exc:
            raise ConfigError(code="roster_unusable", path=self.roster_path, reason=exc) from None

    def save_roster(self, roster: Roster) -> None:
        """Write the roster atomically (a new version, or notices heard over the air)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_roster(self.roster_path, roster)

    # --- roster import ---------------------------------------------------------

    def import_roster(self, text: str) -> tuple[Roster, bool]:
        """Verify and install a roster; returns (roster, pinned_now).

        The first import pins the authority key (compare its fingerprint with
        the paper copy); later imports must carry the same authority and a
        higher version.
        """
        config = self.config()
        pinned = base64.b64decode(config.authority_key) if config.authority_key else None
        roster = Roster.from_json(text, pinned)  # raises DecodeError/VerificationError
        if self.roster_path.exists():
            current = self.roster()
            if not roster.supersedes(current):
                raise ConfigError(code="roster_not_newer", version=roster.version, current=current.version)
            roster = roster.newer(current)  # revocations heard over the air stay
        self.save_roster(roster)
        if pinned is None:
            self.write_config(replace(config, authority_key=base64.b64encode(roster.authority_key).decode()))
        return roster, pinned is None


def write_roster(path: Path, roster: Roster) -> None:
    """``roster`` to ``path`` atomically: a reader sees the old file or the new one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(roster.to_json(), encoding="utf-8")
    os.replace(tmp, path)
