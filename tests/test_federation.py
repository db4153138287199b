"""Two regions federate through bridged brokers: mosquitto's own bridge, real daemons.

Region A (Ringerike, id ``ringerike``: HOL, SF) and region B (Kongsberg, id
``kongsberg``: KON, SF) each have their own roster, authority and broker.  The
county governor's Pi follows both: one home per region (``SF`` in each
roster, with one key), both logged in to the county's broker C.  A's and B's
brokers bridge to C, each carrying its own region's subtree
(``relay/<id>/#``) and nothing else; all three configurations come from
``relay broker config``.  The trust is the operator's: SF's home for A holds
A's roster, and a store of B never receives, nor could verify, A's messages.
"""

from __future__ import annotations

import shutil
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from relay.core.compose import compose
from relay.core.model import Address, Kind, Priority
from relay.core.roster import Roster, RosterEntry
from relay.core.signing import Signer
from relay.core.wire import SignedMessage, encode
from relay.deploy.broker import password_line
from relay.edge import dictionaries
from relay.edge.home import Home
from relay.edge.store import Store
from relay.edge.store.rows import Stored
from tests.broker import Mosquitto, free_port
from tests.iplab import IpDaemons, configure_ip
from tests.tcpcut import Cuttable
from tests.test_cli import ok, relay_cli
from tests.test_daemon import _wait_for

NAMES = {"HOL": "Hole kommune", "KON": "Kongsberg kommune", "SF": "Statsforvalteren"}


def region_homes(base: Path, name: str, region_id: str, nodes: tuple[str, ...], keys: dict[str, Path]) -> Path:
    """One home per node (``base/NODE-ID``), a roster of its own authority; a node already in
    ``keys`` (the county governor) keeps its key.  Returns the roster file."""
    now = datetime.now(UTC)
    authority = Signer.generate()
    roster = Roster.create(name, authority, now, region_id)
    homes = []
    for node in nodes:
        home = Home.init(base / f"{node}-{region_id}", node, NAMES[node])
        if node in keys:
            shutil.copy(keys[node], home.key_path)
        keys.setdefault(node, home.key_path)
        role = "statsforvalter" if node == "SF" else "kommune"
        roster = roster.with_entry(RosterEntry(node, NAMES[node], role, home.signer().public_key, now), authority, now)
        homes.append(home)
    for home in homes:
        home.import_roster(roster.to_json())
    path = base / f"{region_id}.json"
    path.write_text(roster.to_json(), encoding="utf-8")
    return path


def broker_for(base: Path, rosters: list[Path], *extra: str) -> tuple[Mosquitto, Path]:
    """``relay broker config`` for ``rosters`` on a loopback port, and mosquitto on its output (not started)."""
    port = free_port()
    out = base / "out"
    args = ["--out", out, "--host", "127.0.0.1", "--port", str(port), "--bind", "127.0.0.1", "--etc", out / "mosquitto"]
    ok(relay_cli("broker", "config", *(a for r in rosters for a in ("--roster", r)), *args, *extra))
    conf = ["persistence false", f"include_dir {out / 'mosquitto' / 'conf.d'}"]
    return Mosquitto(base / "run", port, conf, "mqtts"), out


@dataclass
class Watcher:
    """Every topic a login may read on a broker, as it arrives."""

    topics: list[str] = field(default_factory=list)

    def watch(self, broker: Mosquitto, ca: Path, user: str, password: str) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{user}", protocol=paho.MQTTv5)
        client.username_pw_set(user, password)
        client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        client.on_message = lambda c, u, m: self.topics.append(m.topic)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        return client


@dataclass
class Federation:
    base: Path
    homes: dict[str, Home]
    daemons: IpDaemons
    bridge_a: Cuttable
    watched_a: Watcher

    def held(self, name: str, origin: str, seq: int) -> list[Stored]:
        store = self.homes[name].store()
        try:
            return store.get(origin, seq)
        finally:
            store.close()

    def all_held(self, name: str) -> list[str]:
        store = self.homes[name].store()
        try:
            return [m.message.id for m in store.log()]
        finally:
            store.close()


@contextmanager
def federation(base: Path) -> Iterator[Federation]:
    keys: dict[str, Path] = {}
    roster_a = region_homes(base / "homes", "Ringerike-regionen", "ringerike", ("HOL", "SF"), keys)
    roster_b = region_homes(base / "homes", "Kongsberg-regionen", "kongsberg", ("KON", "SF"), keys)
    county, out_c = broker_for(base / "C", [roster_a, roster_b])
    bridge_a = Cuttable(county.port)  # A's bridge runs over a wire the test can cut
    secrets, ca_c = out_c / "secrets", str(out_c / "mosquitto" / "certs" / "ca.pem")
    broker_a, out_a = broker_for(
        base / "A",
        [roster_a],
        *("--bridge", f"127.0.0.1:{bridge_a.port}", "--bridge-password-file", secrets / "bridge-ringerike.pass"),
        *("--bridge-ca", ca_c),
    )
    broker_b, out_b = broker_for(
        base / "B",
        [roster_b],
        *("--bridge", f"127.0.0.1:{county.port}", "--bridge-password-file", secrets / "bridge-kongsberg.pass"),
        *("--bridge-ca", ca_c),
    )
    # An observer on A's broker that may read everything: what reaches region A at all.
    with (out_a / "mosquitto" / "relay.acl").open("a") as acl:
        acl.write("\nuser watcher\ntopic read #\n")
    with (out_a / "mosquitto" / "relay.passwd").open("a") as passwd:
        passwd.write(password_line("watcher", "se-alt") + "\n")
    homes = {p.name: Home(p) for p in (base / "homes").iterdir() if p.is_dir()}
    daemons = IpDaemons(base / "logs")
    watcher, watching = Watcher(), None
    brokers = (county, broker_a, broker_b)
    try:
        for broker in brokers:
            broker.start()
        watching = watcher.watch(broker_a, out_a / "mosquitto" / "certs" / "ca.pem", "watcher", "se-alt")
        # The county governor follows two regions on C: a login per region (SF@ringerike,
        # SF@kongsberg), since a login is its client id and its two daemons must not share one.
        for name, out, broker, login in (
            ("HOL-ringerike", out_a, broker_a, None),
            ("KON-kongsberg", out_b, broker_b, None),
            ("SF-ringerike", out_c, county, "SF@ringerike"),
            ("SF-kongsberg", out_c, county, "SF@kongsberg"),
        ):
            handed = out / "nodes" / (login or name.split("-")[0])
            password = (handed / "mqtt.pass").read_text().strip()
            configure_ip(homes[name], broker.url, password, str(handed / "ca.pem"), login)
            daemons.start(name, homes[name], "--verbose")
        for name in daemons.procs:
            _wait_for(lambda n=name: "IP: connected" in daemons.log(n), 30, f"{name} on its broker")
        yield Federation(base, homes, daemons, bridge_a, watcher)
    finally:
        if watching is not None:
            watching.loop_stop()
            watching.disconnect()
        daemons.stop()
        for broker in brokers:
            broker.stop()
        bridge_a.close()


def send(home: Home, kind: Kind, text: str, to: str, priority: Priority) -> SignedMessage:
    """Commit a message the way the CLI does: signed, into the node's own store."""
    store: Store = home.store()
    now = datetime.now(UTC)
    node = home.config().node_id

    def build(seq: int) -> SignedMessage:
        msg = compose(kind, node, seq, now, text=text, priority=priority, to=Address.parse(to))
        return encode(msg, home.signer(), dictionaries.current())

    try:
        return store.commit_local(node, build, now)
    finally:
        store.close()


def test_a_report_crosses_to_the_county_governor_and_back_and_nothing_of_another_region_comes_in(
    tmp_path: Path,
) -> None:
    with federation(tmp_path) as fed:
        hol, sf_a = fed.homes["HOL-ringerike"], fed.homes["SF-ringerike"]
        report = send(hol, Kind.SITREP, "Hole: flom i sentrum, 12 evakuert.", "SF", Priority.HASTER)
        _wait_for(lambda: fed.held("SF-ringerike", "HOL", 1), 60, "HOL's SITREP at the county governor")
        assert fed.held("SF-ringerike", "HOL", 1)[0].wire == report.wire  # stored means verified against A's roster
        assert "stored HOL-0001 SITREP HASTER by IP" in fed.daemons.log("SF-ringerike")

        ok(relay_cli("ack", "HOL-0001", home=sf_a.path))
        _wait_for(lambda: any(i.startswith("SF-") for i in fed.all_held("HOL-ringerike")), 60, "SF's receipt at HOL")
        receipt = next(i for i in fed.all_held("HOL-ringerike") if i.startswith("SF-"))
        assert f"stored {receipt} KVITTERING" in fed.daemons.log("HOL-ringerike")

        # Region B's routine traffic reaches the county governor's home for B, and not region A.
        send(fed.homes["KON-kongsberg"], Kind.MELDING, "Kongsberg: rutinemelding.", "ALLE", Priority.RUTINE)
        _wait_for(lambda: fed.held("SF-kongsberg", "KON", 1), 60, "KON's message at the county governor's B home")
        time.sleep(1.0)
        assert fed.watched_a.topics and all(t.startswith("relay/ringerike/") for t in fed.watched_a.topics)
        assert not any(i.startswith("KON-") for i in fed.all_held("HOL-ringerike") + fed.all_held("SF-ringerike"))
        assert not any(i.startswith("HOL-") for i in fed.all_held("SF-kongsberg"))

        # The bridge is cut and restored: what was written meanwhile arrives, once.
        fed.bridge_a.cut()
        during = send(hol, Kind.SITREP, "Hole: skrevet mens broen var nede.", "SF", Priority.HASTER)
        time.sleep(3.0)
        assert not fed.held("SF-ringerike", "HOL", during.message.seq)
        fed.bridge_a.restore()
        _wait_for(lambda: fed.held("SF-ringerike", "HOL", during.message.seq), 90, "the second SITREP after the cut")
        for name in ("HOL-ringerike", "SF-ringerike"):
            ids = fed.all_held(name)
            assert len(ids) == len(set(ids)) and {"HOL-0001", "HOL-0002", receipt} <= set(ids), (name, ids)
        for proc in fed.daemons.procs.values():
            assert proc.poll() is None
