"""The region's mosquitto configuration, written from its roster: ``relay broker config``.

One source for names: the roster's region id (``Roster.region_id``) gives the
topic root ``relay/<id>`` the daemons publish under (``relay.edge.mqtt.topic_of``),
the ACL and the logins, so that the broker and the nodes cannot disagree.

A broker serves one region, or several (a county governor's broker that the
regional brokers bridge to): each region's nodes may write only
``relay/<id>/<NODE>`` and read ``relay/<id>/+``; a node id listed by two of its
regions must be the same key (one login per broker).  Every region also gets a
bridge login, ``bridge-<id>``, that may read and write ``relay/<id>/#`` alone:
what a region's broker sends over its bridge (``bridge_stanza``) is its own
region's traffic and nothing else, so no region's traffic reaches another
region's broker.

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
MESSAGE_SIZE_LIMIT = 512  # relay's frames are at most 231 bytes; anything larger is not ours
MAX_QUEUED = 1000
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's own count for its $7$ (PBKDF2-SHA512) hashes
PASSWORD_BYTES = 18
CERT_DAYS = 5 * 365


def topic_root(region_id: str) -> str:
    """``relay/<id>``: what ``relay.edge.mqtt.topic_of`` gives the daemons."""
    return f"relay/{region_id}"


def bridge_login(region_id: str) -> str:
    return f"bridge-{region_id}"


@dataclass(frozen=True)
class Served:
    """One region on this broker: its id and the node ids that may log in."""

    region_id: str
    nodes: tuple[str, ...]

    @classmethod
    def of(cls, roster: Roster) -> Served:
        """The roster's nodes with an active key: a revoked node gets no login."""
        return cls(roster.region_id, tuple(n for n in roster.node_ids if roster.active(n) is not None))


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
                raise ConfigError(
                    f"{node} står i flere regioner med ulike nøkler: én megler har én innlogging per node-ID"
                )
        out.append(one)
    return out


def render_conf(etc: str = ETC, port: int = TLS_PORT, bind: str | None = None) -> str:
    """``conf.d/relay.conf``: the TLS listener, no anonymous logins, the password file and the ACL."""
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

{listener}
cafile {etc}/certs/ca.pem
certfile {etc}/certs/broker.pem
keyfile {etc}/certs/broker.key
tls_version tlsv1.2

# relay's frames are at most 231 bytes; anything larger is not ours.
message_size_limit {MESSAGE_SIZE_LIMIT}
# A node's frames while it is away are not kept: the sync repairs what it missed.
persistence false
max_queued_messages {MAX_QUEUED}
"""


def render_acl(regions: Iterable[Served]) -> str:
    """The ACL: per node, write its own topic and read its region's; per region, its bridge login."""
    lines = [
        "# mosquitto ACL for relay, written by «relay broker config» from the roster(s).",
        "# Each node logs in with its node id and may publish only under relay/<region id>/<its id>;",
        "# it reads its whole region.  bridge-<region id> is the login of that region's bridge.",
    ]
    by_node: dict[str, list[str]] = {}
    regions = list(regions)
    for region in regions:
        for node in region.nodes:
            by_node.setdefault(node, []).append(region.region_id)
    for node in sorted(by_node):
        lines += ["", f"user {node}"]
        for region_id in by_node[node]:
            root = topic_root(region_id)
            lines += [f"topic write {root}/{node}", f"topic read {root}/+"]
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


def ip_snippet(address: str, node: str) -> str:
    """The ``[ip]`` table for a node's relay.toml."""
    return (
        "[ip]  # the IP path: frames through the region's MQTT broker\n"
        f'broker = "mqtts://{address}"\n'
        f'password_file = "/etc/relay/mqtt.pass"  # nodes/{node}/mqtt.pass, mode 0600, owner relay\n'
        f'ca_file = "/etc/relay/ca.pem"  # nodes/{node}/ca.pem\n'
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

    put(mosquitto / "conf.d" / "relay.conf", render_conf(etc, port, bind))
    put(mosquitto / "relay.acl", render_acl(regions), 0o640)
    made += _certificates(out, mosquitto / "certs", hosts)
    secrets_dir = out / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    logins = sorted({n for r in regions for n in r.nodes} | {bridge_login(r.region_id) for r in regions})
    lines = []
    for login in logins:
        password = _password(secrets_dir / f"{login}.pass")
        lines.append(password_line(login, password))
        if not login.startswith("bridge-"):
            node_dir = nodes / login
            node_dir.mkdir(exist_ok=True)
            put(node_dir / "mqtt.pass", password + "\n", 0o600)
            put(node_dir / "ca.pem", (mosquitto / "certs" / "ca.pem").read_text())
            put(node_dir / "ip.toml", ip_snippet(f"{hosts[0]}:{port}" if hosts else f"BROKER:{port}", login))
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
