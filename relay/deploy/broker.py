"""The region's mosquitto configuration, written from its roster: ``relay broker config``.

One source for names: the roster's region id (``Roster.region_id``) gives the
topic root ``relay/<id>`` the daemons publish under (``relay.edge.mqtt.topic_of``),
the ACL and the logins, so that the broker and the nodes cannot disagree.

A broker serves one region, or several (a county governor's broker that the
regional brokers bridge to): each region's nodes may write only
``relay/<id>/<NODE>`` and read ``relay/<id>/+``; a node id listed by two of its
regions must be the same key, and logs in once per region (``login_of``).  Every
region also gets a bridge login, ``bridge-<id>``, that may read and write ``relay/<id>/#`` alone:
what a region's broker sends over its bridge (``bridge_stanza``) is its own
region's traffic and nothing else, so no region's traffic reaches another
region's broker.

The broker as written is safe against a login that is not its own (issue 24):
mosquitto takes each client's id from its login (``use_username_as_clientid``),
so a captured site's credentials cannot connect under another node's client id
and knock that node off; it keeps no retained messages (``retain_available
false``: a retained publish costs its sender the connection); and connections,
packets, in-flight and queued messages are bounded (``render_conf``, the
numbers beside the constants).

The text here is pure (``render_*``); the files, keys and passwords are made
by ``write_config``.  ``hw/mosquitto/`` is its output for the shipped region
(checked by ``tests/test_broker_config.py``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from relay.core.roster import Roster
from relay.errors import ConfigError

ETC = "/etc/mosquitto"
TLS_PORT = 8883
# The broker's limits.  relay's largest frame is MAX_APP_PAYLOAD (231) bytes.
MESSAGE_SIZE_LIMIT = 512  # a publish's payload: the largest frame with twice the margin; larger is not ours
# A whole MQTT packet.  The largest relay sends: a PUBLISH of the largest frame is
# 231 payload + 47 topic ("relay/" 6, region id 32, "/" 1, node id 8) + 2 its length
# + 2 packet id + 5 fixed header + at most 16 MQTT 5 properties = 303 bytes; a CONNECT
# (client id, login, 24-character password, properties) about 150.  1024: three times
# that, and any packet larger disconnects its sender before the broker buffers it.
MAX_PACKET_SIZE = 1024
# Per client, frames sent to it and not yet acknowledged.  The daemon keeps at most 64
# of its own unacknowledged (relay.edge.mqtt.MAX_UNACKED); paho's receive maximum is 20
# too, so a node's catch-up burst flows at its own pace while a stalled client pins 20.
MAX_INFLIGHT = 20
# Per client, frames queued above the in-flight ones while it is slow: a 400-frame catch-up
# (relay.edge.mqtt.INBOUND_BURST) from each of two publishers fits; beyond, the sync repairs
# what was dropped.  At most 1000 x 512 bytes = 0.5 MB per client.
MAX_QUEUED = 1000
# Connections on the listener: every login holds one session (its client id is its login, a
# reconnect replaces the old one), so twice the logins covers every node reconnecting at once
# while its dead socket still counts, and 16 more the operator's tools and handshakes under way.
CONNECTIONS_PER_LOGIN = 2
CONNECTIONS_SPARE = 16
MAX_KEEPALIVE_S = 60  # MQTT 5: a vanished client's session is gone within 1.5 x 60 s (the daemon asks 30)
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's own count for its $7$ (PBKDF2-SHA512) hashes
PASSWORD_BYTES = 18
CERT_DAYS = 5 * 365


def topic_root(region_id: str) -> str:
    """``relay/<id>``: what ``relay.edge.mqtt.topic_of`` gives the daemons."""
    return f"relay/{region_id}"


def bridge_login(region_id: str) -> str:
    return f"bridge-{region_id}"


def max_connections(logins: int) -> int:
    """The listener's connection limit for a broker with ``logins`` logins (see ``CONNECTIONS_PER_LOGIN``)."""
    return CONNECTIONS_PER_LOGIN * logins + CONNECTIONS_SPARE


@dataclass(frozen=True)
class Served:
    """One region on this broker: its id and the node ids that may log in."""

    region_id: str
    nodes: tuple[str, ...]

    @classmethod
    def of(cls, roster: Roster) -> Served:
        """The roster's nodes with an active key: a revoked node gets no login."""
        return cls(roster.region_id, tuple(n for n in roster.node_ids if roster.active(n) is not None))


def node_logins(regions: Iterable[Served]) -> dict[str, tuple[str, str]]:
    """Every node's login on the broker -> (region id, node id).

    A node's login is its id; a node that follows several of the broker's regions
    (the county governor, one daemon per region) logs in once per region as
    ``<NODE>@<region id>``.  Its client id is its login (``use_username_as_clientid``),
    so its daemons must not share one: each would knock the other off."""
    regions = list(regions)
    count: dict[str, int] = {}
    for region in regions:
        for node in region.nodes:
            count[node] = count.get(node, 0) + 1
    return {
        (node if count[node] == 1 else f"{node}@{region.region_id}"): (region.region_id, node)
        for region in regions
        for node in region.nodes
    }


def served(rosters: Sequence[Roster]) -> list[Served]:
    """The regions of ``rosters``, refusing two that share an id, or one node id under two keys."""
    seen: dict[str, Roster] = {}
    keys: dict[str, bytes] = {}
    out = []
    for roster in rosters:
        if roster.region_id in seen:
            raise ConfigError(f"to rostere har samme region-ID {roster.region_id!r}")
        seen[roster.region_id] = roster
        one = Served.of(roster)
        for node in one.nodes:
            entry = roster.active(node)
            assert entry is not None
            if keys.setdefault(node, entry.public_key) != entry.public_key:
                raise ConfigError(f"{node} står i flere regioner med ulike nøkler: på én megler er én node-ID én node")
        out.append(one)
    return out


def render_conf(etc: str = ETC, port: int = TLS_PORT, bind: str | None = None, logins: int = 0) -> str:
    """``conf.d/relay.conf``: the TLS listener, no anonymous logins, the password file and the ACL,
    client ids tied to logins, no retained messages, and limits for a broker of ``logins`` logins."""
    listener = f"listener {port}" + (f" {bind}" if bind else "")
    return f"""\
# {etc}/conf.d/relay.conf: the region's broker for relay's IP path.
# Written by «relay broker config» from the roster; see hw/mosquitto/README.md.
# TLS only, a password per node, and the ACL that lets each node publish under
# its own id alone ({etc}/relay.acl).
per_listener_settings false
allow_anonymous false
password_file {etc}/relay.passwd
acl_file {etc}/relay.acl

# A node's frames while it is away are not kept: the sync repairs what it missed.
persistence false
# No retained messages: a frame is news once, and a late subscriber must not get an
# old or planted one.  A client that publishes with the retain flag is disconnected.
retain_available false
# relay's frames are at most 231 bytes; anything larger is not ours.  A publish of the
# largest frame is about 300 bytes whole; a larger packet disconnects its sender.
message_size_limit {MESSAGE_SIZE_LIMIT}
max_packet_size {MAX_PACKET_SIZE}
# Per client: {MAX_INFLIGHT} frames in flight (the daemon's own window is 64, paho's 20),
# and {MAX_QUEUED} queued above them (at most 0.5 MB, a catch-up burst from two
# publishers); beyond that the sync repairs what was dropped.
max_inflight_messages {MAX_INFLIGHT}
max_queued_messages {MAX_QUEUED}
# A vanished client's session, and its hold on its client id, ends within 1.5 x {MAX_KEEPALIVE_S} s.
max_keepalive {MAX_KEEPALIVE_S}

{listener}
cafile {etc}/certs/ca.pem
certfile {etc}/certs/broker.pem
keyfile {etc}/certs/broker.key
tls_version tlsv1.2
# The client id is the login: one login cannot connect under another's client id and
# knock it off the broker (MQTT's session takeover).
use_username_as_clientid true
# {logins} logins, each one session: {CONNECTIONS_PER_LOGIN} connections per login and {CONNECTIONS_SPARE} spare.
max_connections {max_connections(logins)}
"""


def render_acl(regions: Iterable[Served]) -> str:
    """The ACL: per node login, write its own topic and read its region's; per region, its bridge login."""
    lines = [
        "# mosquitto ACL for relay, written by «relay broker config» from the roster(s).",
        "# Each node logs in with its node id and may publish only under relay/<region id>/<its id>;",
        "# it reads its whole region.  A node of several regions here logs in as <id>@<region id>",
        "# for each.  bridge-<region id> is the login of that region's bridge.",
    ]
    regions = list(regions)
    for login, (region_id, node) in sorted(node_logins(regions).items()):
        root = topic_root(region_id)
        lines += ["", f"user {login}", f"topic write {root}/{node}", f"topic read {root}/+"]
    for region in regions:
        lines += ["", f"user {bridge_login(region.region_id)}", f"topic readwrite {topic_root(region.region_id)}/#"]
    return "\n".join(lines) + "\n"


def render_bridge(region_id: str, address: str, password: str, cafile: str, local_name: str = "") -> str:
    """``conf.d/bridge-<id>.conf`` on a region's broker: its region's subtree, both ways, to ``address``
    (HOST:PORT of the broker it federates with, over TLS), logged in as ``bridge-<id>``."""
    login = bridge_login(region_id)
    return f"""\
# Bridge of region {region_id} to {address}, written by «relay broker config».
# Only relay/{region_id}/# crosses, both ways: no other region's traffic comes back.
# Never build a loop of bridges (A to B to C to A): every frame would circle.
connection {login}{("-" + local_name) if local_name else ""}
address {address}
bridge_protocol_version mqttv311
try_private true
notifications false
cleansession true
restart_timeout 2 30
remote_clientid {login}
remote_username {login}
remote_password {password}
bridge_cafile {cafile}
bridge_insecure false
topic {topic_root(region_id)}/# both 1
"""


def password_line(user: str, password: str, salt: bytes | None = None) -> str:
    """One line of mosquitto's password file, hashed as ``mosquitto_passwd`` does ($7$: PBKDF2-SHA512)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"{user}:$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def ip_snippet(address: str, login: str, node: str | None = None) -> str:
    """The ``[ip]`` table for a node's relay.toml; ``login`` names its hand-out, and is its
    ``username`` when it is not the node id (a node of several regions on this broker)."""
    user = f'username = "{login}"\n' if node is not None and login != node else ""
    return (
        "[ip]  # the IP path: frames through the region's MQTT broker\n"
        f'broker = "mqtts://{address}"\n'
        f"{user}"
        f'password_file = "/etc/relay/mqtt.pass"  # nodes/{login}/mqtt.pass, mode 0600, owner relay\n'
        f'ca_file = "/etc/relay/ca.pem"  # nodes/{login}/ca.pem\n'
    )


# --- the files -----------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What ``write_config`` made: the broker's directory and the nodes' hand-outs."""

    mosquitto: Path
    nodes: Path
    made: tuple[str, ...]  # relative paths of the files created or rewritten


def write_config(
    out: Path,
    rosters: Sequence[Roster],
    hosts: Sequence[str],
    *,
    etc: str = ETC,
    port: int = TLS_PORT,
    bind: str | None = None,
    bridge: str | None = None,
    bridge_password: str | None = None,
    bridge_ca: Path | None = None,
) -> Written:
    """Write ``out/mosquitto/`` (to install as ``etc``) and ``out/nodes/<NODE>/``.

    The CA, the broker's certificate and every password are kept when they exist:
    running it again after a roster change adds the new nodes' logins and drops the
    revoked ones, without changing anyone else's."""
    if not rosters:
        raise ConfigError("ingen roster å skrive megleroppsettet fra")
    regions = served(rosters)
    mosquitto, nodes = out / "mosquitto", out / "nodes"
    for folder in (mosquitto / "conf.d", mosquitto / "certs", nodes):
        folder.mkdir(parents=True, exist_ok=True)
    made: list[str] = []

    def put(path: Path, text: str, mode: int = 0o644) -> None:
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        made.append(str(path.relative_to(out)))

    by_login = node_logins(regions)
    logins = sorted(set(by_login) | {bridge_login(r.region_id) for r in regions})
    put(mosquitto / "conf.d" / "relay.conf", render_conf(etc, port, bind, len(logins)))
    put(mosquitto / "relay.acl", render_acl(regions), 0o640)
    made += _certificates(out, mosquitto / "certs", hosts)
    secrets_dir = out / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    lines = []
    for login in logins:
        password = _password(secrets_dir / f"{login}.pass")
        lines.append(password_line(login, password))
        if login in by_login:
            node_dir = nodes / login
            node_dir.mkdir(exist_ok=True)
            put(node_dir / "mqtt.pass", password + "\n", 0o600)
            put(node_dir / "ca.pem", (mosquitto / "certs" / "ca.pem").read_text())
            address = f"{hosts[0]}:{port}" if hosts else f"BROKER:{port}"
            put(node_dir / "ip.toml", ip_snippet(address, login, by_login[login][1]))
    put(mosquitto / "relay.passwd", "\n".join(lines) + "\n", 0o640)
    if bridge is not None:
        if bridge_password is None or bridge_ca is None:
            raise ConfigError("--bridge trenger broens passord og den andre meglerens CA")
        if len(regions) != 1:
            raise ConfigError("en bro går fra én regions megler: oppgi ett roster med --bridge")
        region_id = regions[0].region_id
        ca_copy = mosquitto / "certs" / "bridge-ca.pem"
        put(ca_copy, bridge_ca.read_text(encoding="utf-8"))
        put(
            mosquitto / "conf.d" / f"bridge-{region_id}.conf",
            render_bridge(region_id, bridge, bridge_password, f"{etc}/certs/bridge-ca.pem"),
            0o640,
        )
    return Written(mosquitto, nodes, tuple(made))


def _password(path: Path) -> str:
    """The login's password in ``path``, made (random) the first time."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(password + "\n")
    return password


def _certificates(out: Path, certs: Path, hosts: Sequence[str]) -> list[str]:
    """The region's CA (its key in ``out/secrets``) and the broker's certificate for ``hosts``,
    each made only when missing."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    made = []
    ca_key_path, ca_path = out / "secrets" / "ca.key", certs / "ca.pem"
    (out / "secrets").mkdir(mode=0o700, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if not ca_path.exists() or not ca_key_path.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay region CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(ca_key_path, ca_key)
        ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (certs / "broker.pem").unlink(missing_ok=True)  # a new CA: the old certificate no longer chains
        made += [str(ca_path.relative_to(out)), str(ca_key_path.relative_to(out))]
    broker_path = certs / "broker.pem"
    if broker_path.exists() and _names(broker_path) == sorted(hosts):
        return made
    if not hosts:
        raise ConfigError("oppgi meglerens vertsnavn eller adresse med --host (den står i sertifikatet)")
    loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{ca_key_path} er ikke CA-ens nøkkel")
    ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(loaded, hashes.SHA256())
    )
    _write_key(certs / "broker.key", key, 0o640)
    broker_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return [*made, str(broker_path.relative_to(out)), str((certs / "broker.key").relative_to(out))]


def _names(cert_path: Path) -> list[str]:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return sorted([str(ip) for ip in alt.get_values_for_type(x509.IPAddress)] + alt.get_values_for_type(x509.DNSName))


def _write_key(path: Path, key: object, mode: int = 0o600) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
