"""The IP path against a real mosquitto: the transport alone, then real daemons.

The end-to-end run is the issue's: MOD has only a radio, RIN has its radio on
``relay hw-sim`` and the broker, SF has the broker only (``--radio none``).  A
message from MOD reaches SF verified; SF's KVITTERING reaches MOD by radio; the
broker is stopped and started again midway, and nothing is lost or doubled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from relay.core.model import Kind
from relay.edge.home import Home, IpConfig
from relay.edge.mqtt import IpSettings, MqttTransport, parse_broker, topic_of
from relay.edge.transport import Heard
from relay.errors import ConfigError
from tests.broker import Broker
from tests.test_cli import ok, relay_cli
from tests.test_daemon import Lab, _wait_for, hw_control, lab, send_sitrep

TOPIC = "relay/testregionen"  # topic_of(ROSTER.region_id): "Testregionen", the region of the tests' rosters
PASSWORDS = {"MOD": "modum-hemmelig", "RIN": "ringerike-hemmelig", "SF": "fylket-hemmelig"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    the_broker = Broker(tmp_path / "broker", PASSWORDS, TOPIC)
    the_broker.start()
    try:
        yield the_broker
    finally:
        the_broker.stop()


def transport(broker: Broker, node: str, password: str | None = None) -> MqttTransport:
    settings = IpSettings(parse_broker(broker.url), TOPIC, node, password or PASSWORDS[node])
    t = MqttTransport(settings, node, threading.Event())
    t.start()
    return t


def test_the_topic_comes_from_the_roster_region_id() -> None:
    from relay.core.roster import Roster
    from tests.helpers import AUTHORITY, ROSTER_ISSUED

    assert topic_of(Roster.create("Testregionen", AUTHORITY, ROSTER_ISSUED).region_id) == TOPIC
    assert topic_of(Roster.create("Testregionen", AUTHORITY, ROSTER_ISSUED, "lab-2").region_id) == "relay/lab-2"


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "broker:1883", "mqtt://h:99999"])
def test_a_bad_broker_address_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"megleradresse|port"):
        parse_broker(url)


def test_frames_cross_the_broker_and_a_node_publishes_under_its_own_id_only(broker: Broker) -> None:
    mod, rin = transport(broker, "MOD"), transport(broker, "RIN")
    try:
        _wait_for(lambda: mod.connected and rin.connected, 10, "both to connect")
        time.sleep(0.2)  # subscriptions acknowledged
        assert mod.send(b"\x01frame from MOD", 0)
        heard = _wait_for(lambda: rin.receive(0.1), 5, "the frame at RIN")
        assert heard.frame == b"\x01frame from MOD" and heard.publisher == "MOD"
        assert mod.receive(0.3) is None  # our own frame, back from the broker, is not heard

        # The ACL: MOD's login may not publish under RIN's id; the broker drops it.
        mod._client.publish(f"{TOPIC}/RIN", b"\x01forged as RIN", qos=1)
        assert rin.receive(1.0) is None
    finally:
        mod.close()
        rin.close()


def test_a_wrong_password_is_reported_and_retried_not_fatal(broker: Broker) -> None:
    mod = transport(broker, "MOD", password="feil")
    try:
        _wait_for(lambda: mod.problem and mod.problem["code"] == "ip_login_refused", 10, "the refusal")
        assert mod.problem is not None and mod.problem["params"]["reason"] == {"value": 0x87, "name": "Not authorized"}
        assert not mod.connected
        assert not mod.send(b"\x01x", 0)  # not now: the frame stays with the sync
    finally:
        mod.close()


def test_relay_toml_reads_the_ip_table(tmp_path: Path) -> None:
    home = Home.init(tmp_path / "MOD", "MOD", "Modum kommune")
    config = home.config()
    home.write_config(replace(config, ip=IpConfig("mqtts://broker.example:8883", password_file="/etc/relay/mqtt.pass")))
    again = home.config()
    assert again.ip == IpConfig("mqtts://broker.example:8883", password_file="/etc/relay/mqtt.pass")
    home.config_path.write_text(home.config_path.read_text() + 'brokr = "x"\n')
    with pytest.raises(ConfigError, match="ukjent nøkkel 'brokr'"):
        home.config()


GATEWAY = """
[mesh]
preset = "LONG_FAST"
seed = 5
hop_limit = 3
duty_cycle = 0.10
duration = "1h"
ip = ["RIN", "SF"]

[[node]]
id = "MOD"
name = "Modum kommune"

[[node]]
id = "RIN"
name = "Ringerike kommune"

[[node]]
id = "SF"
name = "Statsforvalteren"
radio = false

[[link]]
a = "MOD"
b = "RIN"
loss = 0.0
"""


def held_ids(the_lab: Lab, node: str) -> list[str]:
    store = the_lab.homes[node].store()
    try:
        return [m.message.id for m in store.log()]
    finally:
        store.close()


def receipt_from(the_lab: Lab, node: str, at: str, ref: str) -> list[str]:
    """KVITTERING messages from ``node`` for ``ref`` held at ``at``."""
    store = the_lab.homes[at].store()
    try:
        return [
            m.message.id
            for m in store.log()
            if m.message.origin == node and m.message.kind is Kind.KVITTERING and str(m.message.ref) == ref
        ]
    finally:
        store.close()


def configure_ip(home: Home, broker: Broker, url: str | None = None) -> None:
    """``[ip]`` in the node's relay.toml (``url``, default the broker's), its password in a file beside it."""
    secret = home.path / "mqtt.pass"
    secret.write_text(PASSWORDS[home.config().node_id] + "\n")
    secret.chmod(0o600)
    home.write_config(replace(home.config(), ip=IpConfig(url or broker.url, password_file=str(secret))))


@contextmanager
def gateway_lab(base: Path, override: bool = False) -> Iterator[tuple[Lab, Broker]]:
    """The issue's three sites, running: MOD radio only, RIN radio (hw-sim) and broker, SF
    broker only (``--radio none``); RIN and SF with ``[ip]`` in relay.toml.  ``override``:
    SF's relay.toml names a broker nobody runs, and ``--broker`` the real one."""
    broker = Broker(base / "broker", PASSWORDS, TOPIC)
    broker.start()
    try:
        with lab(base / "lab", speedup=20, scenario=GATEWAY) as the_lab:
            for node in ("RIN", "SF"):
                configure_ip(the_lab.homes[node], broker, "mqtt://127.0.0.1:1" if override and node == "SF" else None)
            for node in ("MOD", "RIN", "SF"):
                the_lab.start(node, False, *(("--broker", broker.url) if override and node == "SF" else ()))
            for node in ("RIN", "SF"):
                _wait_for(lambda n=node: "IP: connected" in the_lab.log(n), 30, f"{node} on the broker")
            for node in ("MOD", "RIN"):
                _wait_for(lambda n=node: "radio connected" in the_lab.log(n), 30, f"{node}'s radio")
            yield the_lab, broker
    finally:
        broker.stop()


def test_modum_reaches_an_ip_only_county_governor_through_a_gateway_and_back(tmp_path: Path) -> None:
    # SF's relay.toml names a dead broker; its --broker option, the real one: the option wins.
    with gateway_lab(tmp_path, override=True) as (the_lab, the_broker):
        first = send_sitrep(the_lab.homes["MOD"], "Modum: alle linjer nede, radio virker.")
        _wait_for(lambda: the_lab.held("SF", "MOD", first.message.seq), 60, "MOD's SITREP at SF")
        assert f"stored {first.message.id} SITREP HASTER by IP" in the_lab.log("SF")

        ok(relay_cli("ack", first.message.id, home=the_lab.homes["SF"].path))
        _wait_for(lambda: receipt_from(the_lab, "SF", "MOD", first.message.id), 60, "SF's receipt at MOD")
        assert "stored SF-0001 KVITTERING" in the_lab.log("MOD")  # by radio: MOD has nothing else

        def status(node: str) -> list[str]:
            return ok(relay_cli("status", home=the_lab.homes[node].path))

        _wait_for(lambda: "Radio:     ingen (bare IP)" in status("SF"), 15, "SF's status")
        sf = status("SF")
        assert any(line.startswith("IP:        tilkoblet, mqtt://127.0.0.1:") for line in sf)
        assert not any(line.startswith("Sendetid:") for line in sf)  # no radio, no airtime
        assert any(line.strip().startswith("RIN ") and line.endswith(" siden") and "aldri" not in line for line in sf)
        rin = status("RIN")
        assert any(line.startswith("Radio:     tilkoblet, tcp://") for line in rin)
        assert any(line.startswith("IP:        tilkoblet, mqtt://") for line in rin)
        assert any(line.strip().startswith("SF ") and "over IP for" in line for line in rin)

        # The broker goes away and comes back; meanwhile both sides write.
        the_broker.stop()
        _wait_for(lambda: "IP: lost the broker" in the_lab.log("SF"), 30, "SF to notice")
        _wait_for(
            lambda: any(
                line.startswith("ADVARSEL: IP-veien (megleren) virker ikke: ") and line.endswith("; radioen bærer alt")
                for line in status("RIN")
            ),
            15,
            "RIN's status to warn",
        )
        during = send_sitrep(the_lab.homes["MOD"], "Modum: skrevet mens megleren var nede.")
        from_sf = send_sitrep(the_lab.homes["SF"], "Statsforvalteren: skrevet mens megleren var nede.")
        time.sleep(2.0)
        the_broker.start()
        _wait_for(lambda: the_lab.held("SF", "MOD", during.message.seq), 90, "MOD's second SITREP at SF")
        _wait_for(lambda: the_lab.held("MOD", "SF", from_sf.message.seq), 90, "SF's SITREP at MOD by radio")
        for node in ("MOD", "RIN", "SF"):
            ids = held_ids(the_lab, node)
            assert len(ids) == len(set(ids)), f"{node} holds a message twice: {ids}"
        for sent in (first, during, from_sf):
            for node in ("MOD", "RIN", "SF"):
                copies = the_lab.held(node, sent.message.origin, sent.message.seq)
                assert len(copies) == 1 and copies[0].wire == sent.wire, (node, sent.message.id)
        for node in ("MOD", "RIN", "SF"):
            assert the_lab.daemons[node].poll() is None, the_lab.log(node)[-2000:]


def test_a_gateway_whose_radio_is_unplugged_carries_on_by_ip(tmp_path: Path) -> None:
    with gateway_lab(tmp_path) as (the_lab, _):
        hw_control(the_lab, "unplug RIN")
        _wait_for(lambda: "radio link lost" in the_lab.log("RIN"), 20, "RIN to notice the lost radio")
        from_sf = send_sitrep(the_lab.homes["SF"], "Statsforvalteren: ringer ikke, skriver.")
        from_rin = send_sitrep(the_lab.homes["RIN"], "Ringerike: radioen er ute, IP virker.")
        _wait_for(lambda: the_lab.held("RIN", "SF", from_sf.message.seq), 30, "SF's SITREP at RIN by IP")
        _wait_for(lambda: the_lab.held("SF", "RIN", from_rin.message.seq), 30, "RIN's SITREP at SF by IP")
        assert the_lab.held("MOD", "SF", from_sf.message.seq) == []  # MOD's only way in is RIN's radio

        hw_control(the_lab, "replug RIN")
        _wait_for(lambda: the_lab.held("MOD", "SF", from_sf.message.seq), 90, "SF's SITREP at MOD after the replug")
        _wait_for(lambda: the_lab.held("MOD", "RIN", from_rin.message.seq), 90, "RIN's SITREP at MOD")
        assert the_lab.daemons["RIN"].poll() is None


def make_ca(base: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a broker certificate for 127.0.0.1 (ca.pem, broker.pem, broker.key)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    base.mkdir(parents=True, exist_ok=True)
    paths = base / "ca.pem", base / "broker.pem", base / "broker.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths[2].chmod(0o600)
    return paths


def test_over_tls_the_broker_is_verified_against_the_regions_ca(tmp_path: Path) -> None:
    ca, cert, key = make_ca(tmp_path / "certs")
    the_broker = Broker(tmp_path / "broker", PASSWORDS, TOPIC, tls=(ca, cert, key))
    the_broker.start()
    try:
        good = MqttTransport(IpSettings(parse_broker(the_broker.url), TOPIC, "MOD", PASSWORDS["MOD"], str(ca)), "MOD")
        stranger, _, _ = make_ca(tmp_path / "other")
        bad = MqttTransport(
            IpSettings(parse_broker(the_broker.url), TOPIC, "RIN", PASSWORDS["RIN"], str(stranger)), "RIN"
        )
        for t in (good, bad):
            t.start()
        _wait_for(lambda: good.connected, 10, "MOD over TLS")
        time.sleep(1.0)
        assert not bad.connected  # a broker whose certificate our CA did not sign is not talked to
    finally:
        for t in (good, bad):
            t.close()
        the_broker.stop()


def test_a_summary_on_ip_must_come_from_its_own_sites_topic(tmp_path: Path) -> None:
    """A captured site's login plus a stolen key: summaries in Modum's name on Hole's topic
    would make every gateway take Modum for reachable by IP and stop serving it by radio."""
    import random

    from relay.daemon import Daemon
    from relay.edge import dictionaries
    from relay.edge.store import Store
    from tests.test_daemon import ROSTER, SIGNERS, FakeClock, FakeTransport, make_daemon, run_for

    mod, _, mod_clock = make_daemon(tmp_path, "MOD")
    summary = mod.sync.summary_frame(mod_clock.now)
    clock = FakeClock()
    radio, ip = FakeTransport(clock), FakeTransport(clock)
    store = Store(tmp_path / "RIN.db", dictionaries.available())
    rin = Daemon("RIN", SIGNERS["RIN"], store, ROSTER, radio, ip=ip, clock=clock, wall=clock.wall, rng=random.Random(1))
    ip.inbox.append(Heard(summary, publisher="HOL"))
    run_for(rin, clock, 2.0)
    assert rin.ip is not None and rin.ip.sync.stats.rejected["not_its_publisher"] == 1
    assert "MOD" not in rin._ip_peers(clock.now)

    ip.inbox.append(Heard(summary, publisher="MOD"))
    run_for(rin, clock, 2.0)
    assert "MOD" in rin._ip_peers(clock.now)  # its own topic: taken

    # While the broker refuses what RIN publishes (tests/test_ip_failures.py), MOD hears
    # nothing of RIN by IP: the radio must serve it again rather than count on IP.
    ip.refusing = True  # type: ignore[attr-defined]
    assert rin._ip_peers(clock.now) == frozenset()
