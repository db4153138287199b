"""``relay broker config``: the broker's files from the roster, and that they work the first time.

``hw/mosquitto/`` is the command's output for the shipped region (regenerated
and compared here).  The generated configuration, certificates and passwords
are run by a real mosquitto on loopback, for the shipped region and for a lab
region, and a node's daemon transport logs in with what the command handed it.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from relay.core.roster import Roster, RosterEntry
from relay.deploy.broker import max_connections, password_line, render_acl, served
from relay.edge.mqtt import IpSettings, MqttTransport, parse_broker, topic_of
from relay.errors import ConfigError
from tests.broker import Mosquitto, free_port
from tests.helpers import AUTHORITY, NODES, ROSTER_ISSUED, SIGNERS, STRANGER
from tests.test_cli import ok, relay_cli
from tests.test_daemon import _wait_for

HW = Path(__file__).resolve().parents[1] / "hw" / "mosquitto"


def region_roster(name: str, region_id: str | None = None, nodes: tuple[str, ...] = ()) -> Roster:
    roster = Roster.create(name, AUTHORITY, ROSTER_ISSUED, region_id)
    for node, full, role in NODES:
        if not nodes or node in nodes:
            entry = RosterEntry(node, full, role, SIGNERS[node].public_key, ROSTER_ISSUED)
            roster = roster.with_entry(entry, AUTHORITY, ROSTER_ISSUED)
    return roster


def shipped_roster() -> Roster:
    """The shipped region: "Ringerike-regionen" (id ringerike) with its eight nodes."""
    return region_roster("Ringerike-regionen")


def write_roster(path: Path, roster: Roster) -> Path:
    path.write_text(roster.to_json(), encoding="utf-8")
    return path


def test_hw_mosquitto_is_the_commands_output_for_the_shipped_region(tmp_path: Path) -> None:
    roster = write_roster(tmp_path / "roster.json", shipped_roster())
    lines = ok(relay_cli("broker", "config", "--roster", roster, "--out", tmp_path / "out", "--host", "broker.example"))
    assert lines[0] == "Ringerike-regionen (ID ringerike): emner relay/ringerike/NODE"
    out = tmp_path / "out" / "mosquitto"
    assert (out / "conf.d" / "relay.conf").read_text() == (HW / "relay.conf").read_text()
    assert (out / "relay.acl").read_text() == (HW / "relay.acl").read_text()


def test_the_acl_lets_each_node_write_its_own_topic_only_and_a_revoked_node_not_at_all() -> None:
    roster = shipped_roster().with_revoked("POL", AUTHORITY, ROSTER_ISSUED)
    acl = render_acl(served([roster]))
    assert "user MOD\ntopic write relay/ringerike/MOD\ntopic read relay/ringerike/+\n" in acl
    assert "user POL" not in acl
    assert "user bridge-ringerike\ntopic readwrite relay/ringerike/#\n" in acl
    # A broker for two regions: a node in both (the county governor) logs in once per region,
    # since its client id is its login and its two daemons must not knock each other off.
    other = region_roster("Kongsberg", "kongsberg", ("SF", "HOL"))
    both = render_acl(served([roster, other]))
    assert "user SF@ringerike\ntopic write relay/ringerike/SF\ntopic read relay/ringerike/+\n" in both
    assert "user SF@kongsberg\ntopic write relay/kongsberg/SF\ntopic read relay/kongsberg/+\n" in both
    assert "user SF\n" not in both and "user MOD\ntopic write relay/ringerike/MOD\n" in both


def test_one_broker_cannot_serve_two_regions_that_give_one_node_id_two_keys() -> None:
    a = shipped_roster()
    b = Roster.create("Andre", AUTHORITY, ROSTER_ISSUED, "andre")
    b = b.with_entry(
        RosterEntry("MOD", "Et annet Modum", "kommune", STRANGER.public_key, ROSTER_ISSUED), AUTHORITY, ROSTER_ISSUED
    )
    with pytest.raises(ConfigError, match="MOD står i flere regioner"):
        served([a, b])
    with pytest.raises(ConfigError, match="samme region-ID"):
        served([a, a])


def test_the_password_line_is_mosquittos_own_hash() -> None:
    # mosquitto_passwd's $7$ for "hemmelig" with this salt, as mosquitto checks it.
    line = password_line("MOD", "hemmelig", bytes(range(12)))
    assert line.startswith("MOD:$7$101$AAECAwQFBgcICQoL$") and len(line.split("$")[-1]) == 88


def generated_broker(base: Path, roster: Roster, *extra: str) -> tuple[Mosquitto, Path]:
    """Run ``relay broker config`` for ``roster`` on a loopback port and start mosquitto on its output."""
    port = free_port()
    out = base / "out"
    args = ["--out", out, "--host", "127.0.0.1", "--port", str(port), "--bind", "127.0.0.1"]
    ok(
        relay_cli(
            "broker",
            "config",
            "--roster",
            write_roster(base / "roster.json", roster),
            *args,
            "--etc",
            out / "mosquitto",
            *extra,
        )
    )
    broker = Mosquitto(
        base / "run", port, ["persistence false", f"include_dir {out / 'mosquitto' / 'conf.d'}"], "mqtts"
    )
    broker.start()
    return broker, out


def node_transport(
    broker: Mosquitto, out: Path, roster: Roster, node: str, password: str | None = None
) -> MqttTransport:
    """A node's IP path with what the command handed it: its password and the region's CA."""
    handed = out / "nodes" / node
    secret = password or (handed / "mqtt.pass").read_text().strip()
    settings = IpSettings(parse_broker(broker.url), topic_of(roster.region_id), node, secret, str(handed / "ca.pem"))
    transport = MqttTransport(settings, node, threading.Event())
    transport.start()
    return transport


@pytest.mark.parametrize(
    "roster", [shipped_roster(), region_roster("Modum (øvelse)", None, ("MOD", "RIN", "SF"))], ids=["shipped", "lab"]
)
def test_the_generated_configuration_works_the_first_time(tmp_path: Path, roster: Roster) -> None:
    broker, out = generated_broker(tmp_path, roster)
    mod, sf = (node_transport(broker, out, roster, n) for n in ("MOD", "SF"))
    try:
        _wait_for(lambda: mod.connected and sf.connected, 10, "both nodes on the generated broker")
        time.sleep(0.2)  # subscriptions acknowledged
        assert mod.send(b"\x01fra Modum", 0)
        heard = _wait_for(lambda: sf.receive(0.1), 5, "MOD's frame at SF")
        assert (heard.frame, heard.publisher) == (b"\x01fra Modum", "MOD")
        assert mod.problem is None and not mod.refusing
    finally:
        mod.close()
        sf.close()
        broker.stop()


def test_running_it_again_keeps_the_ca_and_the_passwords(tmp_path: Path) -> None:
    roster = write_roster(tmp_path / "roster.json", shipped_roster())
    args = ("broker", "config", "--roster", roster, "--out", tmp_path / "out", "--host", "broker.example")
    ok(relay_cli(*args))
    out = tmp_path / "out"
    before = {p: p.read_bytes() for p in (out / "mosquitto" / "certs").iterdir()}
    password = (out / "nodes" / "MOD" / "mqtt.pass").read_text()
    ok(relay_cli(*args))
    assert {p: p.read_bytes() for p in (out / "mosquitto" / "certs").iterdir()} == before
    assert (out / "nodes" / "MOD" / "mqtt.pass").read_text() == password
    assert (out / "secrets" / "ca.key").stat().st_mode & 0o777 == 0o600


def test_roster_create_takes_an_id_or_derives_it_and_refuses_a_bad_one(tmp_path: Path) -> None:
    from tests.test_cli import fails, sh

    ok(relay_cli(*sh("init --node RIN --name 'Ringerike kommune'"), home=tmp_path / "a"))
    assert ok(relay_cli(*sh("roster create --region 'Modum (øvelse)' --id modum-lab"), home=tmp_path / "a"))[0] == (
        "Roster for Modum (øvelse) (ID modum-lab) opprettet (versjon 1)."
    )
    assert ok(relay_cli("roster", "show", home=tmp_path / "a"))[0].startswith(
        "Modum (øvelse) (ID modum-lab), versjon 1"
    )
    ok(relay_cli(*sh("init --node HOL --name 'Hole kommune'"), home=tmp_path / "b"))
    fails(
        relay_cli(*sh("--lang en roster create --id Modum"), home=tmp_path / "b"),
        "invalid region ID 'Modum' (1-32 characters: a-z, 0-9 and dashes, e.g. ringerike)",
        prefix="Error",
    )


def test_an_ip_topic_in_relay_toml_that_is_not_the_rosters_is_refused(tmp_path: Path) -> None:
    from relay.daemon.serve import _ip_settings
    from relay.edge.home import IpConfig, NodeConfig

    roster = shipped_roster()
    config = NodeConfig("MOD", "Modum kommune", ip=IpConfig("mqtt://127.0.0.1:1883", topic="relay/ringerike-regionen"))
    with pytest.raises(ConfigError, match="ikke regionens 'relay/ringerike'"):
        _ip_settings(config, None, roster)
    same = NodeConfig("MOD", "Modum kommune", ip=IpConfig("mqtt://127.0.0.1:1883", topic="relay/ringerike"))
    settings = _ip_settings(same, None, roster)
    assert settings is not None and settings.topic == "relay/ringerike"


# --- the broker as shipped is safe (issue 24, 5) ----------------------------------------------

LAB = region_roster("Modum (øvelse)", None, ("MOD", "RIN", "SF"))


def raw_client(broker: Mosquitto, out: Path, login: str, client_id: str) -> tuple[paho.Client, threading.Event]:
    """A plain paho client with ``login``'s handed-out password, connected under ``client_id``."""
    connected = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.username_pw_set(login, (out / "nodes" / login / "mqtt.pass").read_text().strip())
    client.tls_set(ca_certs=str(out / "nodes" / login / "ca.pem"), cert_reqs=ssl.CERT_REQUIRED)
    client.on_connect = lambda c, u, f, reason, p: connected.set() if not reason.is_failure else None
    client.connect("127.0.0.1", broker.port, keepalive=30)
    client.loop_start()
    return client, connected


def test_another_login_cannot_take_over_a_nodes_client_id(tmp_path: Path) -> None:
    broker, out = generated_broker(tmp_path, LAB)
    sf, rin = (node_transport(broker, out, LAB, n) for n in ("SF", "RIN"))
    drops: list[object] = []
    passed_on = sf._client.on_disconnect

    def counted(*args: object) -> None:
        drops.append(args[3])  # the reason code
        passed_on(*args)

    sf._client.on_disconnect = counted
    try:
        _wait_for(lambda: sf.connected and rin.connected, 10, "SF and RIN on the generated broker")
        # MOD's stolen credentials, under SF's daemon's client id and under its login.
        for client_id in (f"relay-{LAB.region_id}-SF", "SF") * 2:
            thief, connected = raw_client(broker, out, "MOD", client_id)
            assert connected.wait(10), broker.log()[-2000:]
            time.sleep(0.3)
            thief.disconnect()
            thief.loop_stop()
        assert drops == [] and sf.connected and sf.problem is None
        time.sleep(0.2)
        assert rin.send(b"\x01fra Ringerike", 0)
        heard = _wait_for(lambda: sf.receive(0.1), 5, "RIN's frame at SF")
        assert (heard.frame, heard.publisher) == (b"\x01fra Ringerike", "RIN")
    finally:
        sf.close()
        rin.close()
        broker.stop()


def test_a_retained_frame_costs_its_sender_the_connection_and_reaches_no_late_subscriber(tmp_path: Path) -> None:
    broker, out = generated_broker(tmp_path, LAB)
    mod, connected = raw_client(broker, out, "MOD", "MOD")
    lost = threading.Event()
    mod.on_disconnect = lambda *args: lost.set()
    sf = None
    try:
        assert connected.wait(10)
        mod.publish(f"relay/{LAB.region_id}/MOD", b"\x01gammelt", qos=1, retain=True)
        time.sleep(1.0)
        sf = node_transport(broker, out, LAB, "SF")
        _wait_for(lambda: sf.connected, 10, "SF subscribed after the retained publish")
        time.sleep(1.0)
        assert sf.receive(0.5) is None
        assert lost.is_set(), "the broker kept the connection of a client that published retained"
    finally:
        mod.loop_stop()
        if sf is not None:
            sf.close()
        broker.stop()


def test_the_listener_takes_no_more_connections_than_its_limit(tmp_path: Path) -> None:
    broker, out = generated_broker(tmp_path, LAB)
    limit = max_connections(4)  # MOD, RIN, SF and the bridge
    assert f"max_connections {limit}\n" in (out / "mosquitto" / "conf.d" / "relay.conf").read_text()
    held = [socket.create_connection(("127.0.0.1", broker.port), timeout=5) for _ in range(limit)]
    try:
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as extra:
            try:
                closed = extra.recv(1) == b""
            except ConnectionResetError:
                closed = True
            except TimeoutError:
                closed = False
        assert closed, f"connection {limit + 1} was kept"
        for sock in held[:1]:
            sock.close()
        held = held[1:]
        time.sleep(0.3)
        sf = node_transport(broker, out, LAB, "SF")
        try:
            _wait_for(lambda: sf.connected, 10, "SF once a connection is free")
        finally:
            sf.close()
    finally:
        for sock in held:
            sock.close()
        broker.stop()
