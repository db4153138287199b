"""Scenario files (TOML): the mesh, its nodes and links, a timeline of events, and rogue radios.

A key or table the parser does not read is refused, named with where it is.

A ``[[rogue]]`` is a hostile radio that holds the channel key but is not in the
roster (no store, no key of its own), so anyone can check relay against one::

    [[rogue]]
    id = "MAL"                            # a radio id, not one of the [[node]] ids
    links = { RIN = 0.05, HOL = 0.05 }    # the nodes it hears and reaches, loss per link
    attack = "request-flood"              # request-flood | summary-lie | fragment-spam | fragment-jam |
                                          # message-flood | seq-jump | conflict-flood
    every = "30s"                         # one frame this often (default 30s) ...
    start = "10m"                         # ... from start (default 0) ...
    stop = "40m"                          # ... until stop (default: the scenario's end)
    claims = "JEV"                        # unsigned frames claim this node's key id (default: one drawn per frame)
    stolen_key = "MOD"                    # message-flood, seq-jump, conflict-flood sign with this node's real key
                                          # (summary-lie: its lies, in another node's name)

It ignores the duty-cycle law, never rebroadcasts others' packets, sends with
the mesh's ``hop_limit``, and its packets collide like anyone's.  The attacks:
``request-flood`` asks for up to 32 messages the stores were heard to hold (one
unsigned REQUEST, many answers); ``summary-lie`` claims heads far above anything
(false MOTTATT receipts, requests nobody can answer); ``fragment-spam`` sends
one-fragment partials under roster key ids (a summary-lie with a ``stolen_key`` signs
its lies with it, a third store's key: never the claimed node's); ``fragment-jam`` answers
the long message it heard last with a forged piece under its very key, and a piece of a
fuller forged partial under its key id; ``message-flood`` sends fresh, validly
signed NØD messages numbered on from the stolen origin's highest; ``seq-jump``
sends validly signed messages numbered 2^31 and up, and 2^32-1 and down;
``conflict-flood`` signs other messages under numbers the stolen origin was
heard to hold (conflicts: a second version of each number, in turn).

The answer to a stolen key is an ``[[event]]`` with ``revoke``: the roster
authority revokes the node's key at that moment, and ``from`` imports the new
roster, which sends the ROSTER message over the air (``relay roster import``)::

    [[event]]
    at = "15m"
    revoke = { node = "JEV", from = "SF" }   # optional: last_seq = 41, the last genuine number

The IP path: ``[mesh] ip`` lists the stores that also reach an MQTT broker,
``ip_latency`` how long a frame takes through it (default 0.2 s; no airtime).
``bridged`` lists the IP stores on another broker bridged to the region's (a
county governor following the region), ``bridge_latency`` what the bridge adds
(default 0.3 s); ``bridge_down = true`` and ``bridge_up = true`` events cut it
and restore it.
A ``[[node]]`` with ``radio = false`` has IP only (``relay daemon --radio
none``).  ``ip_down`` and ``ip_up`` events cut a node's IP path and restore it::

    [mesh]
    ip = ["RIN", "HOL", "SF"]

    [[event]]
    at = "20m"
    ip_down = "RIN"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from relay.core.airtime import PRESETS, Preset
from relay.core.model import NODE_ID_RE, Address, Kind, MessageRef, Priority
from relay.errors import ValidationError

DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")
ATTACKS = ("forged", "tampered", "replay", "garbage")

# Every key the parser reads, per table: anything else (a typo such as ``relay_hop``,
# a table from a newer format) is refused rather than silently ignored.
TABLES = {"mesh": "[mesh]", "node": "[[node]]", "link": "[[link]]", "event": "[[event]]", "rogue": "[[rogue]]"}
MESH_KEYS = (
    "preset",
    "seed",
    "hop_limit",
    "duty_cycle",
    "duration",
    "relay_hops",
    "routine_hops",
    "town_hall_role",
    "ip",
    "ip_latency",
    "bridged",
    "bridge_latency",
)
NODE_KEYS = ("id", "name", "radio_only", "role", "radio")
LINK_KEYS = ("a", "b", "loss")
ACTIONS = (
    "send",
    "partition",
    "heal",
    "crash",
    "restart",
    "inject",
    "revoke",
    "ip_down",
    "ip_up",
    "bridge_down",
    "bridge_up",
)  # an [[event]] holds ``at`` and one of these
SEND_KEYS = ("from", "kind", "priority", "to", "text", "text_file", "fields", "exercise", "ref")
INJECT_KEYS = ("into", "attack")
REVOKE_KEYS = ("node", "from", "last_seq")
ROGUE_KEYS = ("id", "links", "attack", "every", "start", "stop", "claims", "stolen_key")
ROGUE_ATTACKS = (
    "request-flood",
    "summary-lie",
    "fragment-spam",
    "fragment-jam",
    "message-flood",
    "seq-jump",
    "conflict-flood",
)
SIGNED_ATTACKS = ("message-flood", "seq-jump", "conflict-flood")  # need a stolen_key; the others send unsigned frames
KEYED_ATTACKS = (*SIGNED_ATTACKS, "summary-lie")  # may have one: a summary-lie signs its lies with it


def parse_duration(value: object) -> float:
    """'90s', '10m', '2h30m' (or a number of seconds) -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = DURATION_RE.match(str(value))
    if not m or not any(m.groups()):
        raise ValidationError(f"ugyldig varighet {value!r} (bruk f.eks. 90s, 10m, 2h30m)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


@dataclass(frozen=True)
class NodeSpec:
    id: str
    name: str
    radio_only: bool = False
    role: str = "kommune"
    radio: bool = True  # False: IP only


@dataclass(frozen=True)
class SendSpec:
    origin: str
    kind: Kind
    priority: Priority
    to: Address
    text: str | None
    fields: dict[str, object]
    exercise: bool
    ref: MessageRef | None


@dataclass(frozen=True)
class Event:
    at: float
    send: SendSpec | None = None
    partition: tuple[str, ...] = ()
    heal: tuple[str, ...] = ()
    crash: str | None = None
    restart: str | None = None
    inject: tuple[str, str] | None = None  # (into, attack)
    # The authority revokes ``node``'s key now and ``from`` imports the new roster,
    # which sends the ROSTER message (``relay roster import``): (node, from, last_seq).
    revoke: tuple[str, str, int | None] | None = None
    ip_down: tuple[str, ...] = ()  # these nodes lose their IP path (the broker, or their network)
    ip_up: tuple[str, ...] = ()
    bridge: bool | None = None  # the bridge to the bridged nodes' broker is cut (False) or back (True)


@dataclass(frozen=True)
class RogueSpec:
    """A hostile radio: not in the roster, not a store; times in seconds from the start."""

    id: str
    links: dict[str, float]  # node id -> loss
    attack: str
    every: float
    start: float
    stop: float
    claims: str | None = None  # key id its unsigned frames claim (None: one drawn per frame)
    stolen_key: str | None = None  # roster node whose real key signs its messages


@dataclass(frozen=True)
class Scenario:
    preset: Preset
    seed: int
    hop_limit: int
    duty_cycle: float
    duration: float
    nodes: tuple[NodeSpec, ...]
    links: dict[frozenset[str], float]
    events: tuple[Event, ...] = field(default=())
    name: str = "scenario"
    relay_hops: int | None = None  # override: hop limit of fresh messages (None: the sync chooses)
    routine_hops: int | None = None  # override: ... of fresh PRIORITET and RUTINE messages (None: relay_hops)
    client_mute: bool = True  # town-hall radios CLIENT_MUTE (only repeaters rebroadcast; the default) or CLIENT
    rogues: tuple[RogueSpec, ...] = ()  # hostile radios, outside the roster and the reachability check
    ip: tuple[str, ...] = ()  # stores that reach the broker
    ip_latency: float = 0.2  # seconds through the broker
    bridged: tuple[str, ...] = ()  # stores on another broker, bridged to this region's (the county governor)
    bridge_latency: float = 0.3  # seconds more for a frame that crosses the bridge

    def has_radio(self, node_id: str) -> bool:
        return next(n.radio for n in self.nodes if n.id == node_id)

    @property
    def store_nodes(self) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes if not n.radio_only)


def load(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"kan ikke lese scenariofilen {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: ugyldig TOML: {exc}") from None
    try:
        return parse(data, path.parent, path.stem)
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def parse(data: dict[str, object], base: Path, name: str = "scenario") -> Scenario:
    """A scenario from parsed TOML; ``base`` is where ``text_file`` paths start."""
    _known_keys(data, TABLES, None)
    mesh = _table(data.get("mesh", {}), "[mesh]")
    _known_keys(mesh, MESH_KEYS, "[mesh]")
    preset_name = str(mesh.get("preset", "LONG_FAST"))
    if preset_name not in PRESETS:
        raise ValidationError(f"ukjent preset {preset_name!r} (gyldige: {', '.join(PRESETS)})")
    nodes = tuple(_node(n) for n in _list(data.get("node", []), "[[node]]"))
    ids = [n.id for n in nodes]
    if len(set(ids)) != len(ids):
        raise ValidationError("samme node-ID er oppgitt to ganger i [[node]]")
    if not nodes:
        raise ValidationError("scenariet har ingen [[node]]")
    links: dict[frozenset[str], float] = {}
    for link in _list(data.get("link", []), "[[link]]"):
        a, b = str(link.get("a", "")), str(link.get("b", ""))
        _known_keys(link, LINK_KEYS, f"[[link]] {a}-{b}")
        for end in (a, b):
            if end not in ids:
                raise ValidationError(f"[[link]] nevner ukjent node {end!r}")
        loss = float(link.get("loss", 0.0))  # type: ignore[arg-type]
        if not 0.0 <= loss < 1.0:
            raise ValidationError(f"[[link]] {a}-{b}: loss må være mellom 0 og 1")
        links[frozenset((a, b))] = loss
    events = tuple(
        sorted((_event(e, ids, base) for e in _list(data.get("event", []), "[[event]]")), key=lambda e: e.at)
    )
    hop_limit = int(mesh.get("hop_limit", 3))  # type: ignore[call-overload]
    ip = _ip_nodes(mesh.get("ip", []), nodes)
    for event in events:
        for node_id in (*event.ip_down, *event.ip_up):
            if node_id not in ip:
                raise ValidationError(f"[[event]] ved {event.at:g} s: {node_id} har ingen IP-vei ([mesh] ip)")
    bridged = _nodes(mesh.get("bridged", []), ids)
    if any(node_id not in ip for node_id in bridged):
        raise ValidationError("[mesh] bridged: en node bak broen må også stå i [mesh] ip")
    for pair in links:
        for end in pair:
            if not next(n.radio for n in nodes if n.id == end):
                raise ValidationError(f"[[link]] nevner {end}, som ikke har radio (radio = false)")
    _check_reachable(nodes, links, hop_limit, ip)
    duration = parse_duration(mesh.get("duration", "1h"))
    rogues = tuple(_rogue(r, nodes, duration) for r in _list(data.get("rogue", []), "[[rogue]]"))
    rogue_ids = [r.id for r in rogues]
    if len(set(rogue_ids)) != len(rogue_ids):
        raise ValidationError("samme id er oppgitt to ganger i [[rogue]]")
    return Scenario(
        preset=PRESETS[preset_name],
        seed=int(mesh.get("seed", 1)),  # type: ignore[call-overload]
        hop_limit=hop_limit,
        duty_cycle=float(mesh.get("duty_cycle", 0.10)),  # type: ignore[arg-type]
        duration=duration,
        nodes=nodes,
        links=links,
        events=events,
        name=name,
        relay_hops=None if mesh.get("relay_hops") is None else int(mesh["relay_hops"]),  # type: ignore[call-overload]
        routine_hops=None if mesh.get("routine_hops") is None else int(mesh["routine_hops"]),  # type: ignore[call-overload]
        client_mute=_town_hall_role(mesh.get("town_hall_role", "CLIENT_MUTE")) == "CLIENT_MUTE",
        rogues=rogues,
        ip=ip,
        ip_latency=float(mesh.get("ip_latency", 0.2)),  # type: ignore[arg-type]
        bridged=bridged,
        bridge_latency=float(mesh.get("bridge_latency", 0.3)),  # type: ignore[arg-type]
    )


def _ip_nodes(value: object, nodes: tuple[NodeSpec, ...]) -> tuple[str, ...]:
    """``[mesh] ip``: stores, each once; every node without a radio must be among them."""
    stores = [n.id for n in nodes if not n.radio_only]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("[mesh] ip må være en liste av node-ID-er")
    for node_id in value:
        if node_id not in stores:
            raise ValidationError(f"[mesh] ip nevner {node_id!r}, som ikke er et lager i [[node]]")
    for node in nodes:
        if not node.radio and node.id not in value:
            raise ValidationError(f"[[node]] {node.id} har verken radio eller IP: før den opp i [mesh] ip")
    return tuple(dict.fromkeys(value))


def _check_reachable(
    nodes: tuple[NodeSpec, ...], links: dict[frozenset[str], float], hop_limit: int, ip: tuple[str, ...] = ()
) -> None:
    """Every store must reach every other: directly, through other stores (they relay),
    through at most ``hop_limit`` radio-only repeaters in a row, or through the broker
    (the stores in ``ip`` reach each other).  A scenario that cannot converge is
    refused, not played."""
    stores = [n.id for n in nodes if not n.radio_only]
    relays = {n.id for n in nodes if n.radio_only}
    near: dict[str, set[str]] = {n.id: set() for n in nodes}
    for pair in links:
        a, b = tuple(pair)
        near[a].add(b)
        near[b].add(a)

    def stores_from(start: str) -> set[str]:
        """Stores a frame from ``start`` reaches, relayed by up to ``hop_limit`` repeaters."""
        found: set[str] = set()
        frontier, seen = {start}, {start}
        for _ in range(hop_limit + 1):
            heard = {m for n in frontier for m in near[n]} - seen
            seen |= heard
            found |= heard - relays
            frontier = heard & relays
        return found

    if not stores:
        return
    reached, todo = {stores[0]}, [stores[0]]
    while todo:
        current = todo.pop()
        for other in (stores_from(current) | (set(ip) if current in ip else set())) - reached:
            reached.add(other)
            todo.append(other)
    cut_off = [n for n in stores if n not in reached]
    if cut_off:
        raise ValidationError(
            f"{', '.join(cut_off)} kan ikke nå {stores[0]} med hop_limit {hop_limit}:"
            " ingen vei gjennom lagre eller repeatere (lenker mangler, eller for mange repeatere på rad)"
        )


def _town_hall_role(value: object) -> str:
    role = str(value).upper()
    if role not in ("CLIENT", "CLIENT_MUTE"):
        raise ValidationError(f"ukjent town_hall_role {value!r} (gyldige: CLIENT, CLIENT_MUTE)")
    return role


def _table(value: object, label: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ValidationError(f"{label} må være en tabell")
    return value


def _list(value: object, label: str) -> list[dict[str, object]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValidationError(f"{label} må være en liste av tabeller")
    return value


def _known_keys(data: dict[str, object], known: Collection[str], where: str | None) -> None:
    """Refuse the first key the parser does not read, naming it and ``where`` it is (None: the top level)."""
    key = next((k for k in data if k not in known), None)
    if key is None:
        return
    if where is not None:
        raise ValidationError(f"ukjent nøkkel {key!r} i {where} (gyldige: {', '.join(sorted(known))})")
    tables = ", ".join(TABLES.values())  # the top level holds only the tables
    value = data[key]
    if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        header = f"[{key}]" if isinstance(value, dict) else f"[[{key}]]"
        raise ValidationError(f"ukjent tabell {header} (gyldige: {tables})")
    raise ValidationError(f"ukjent nøkkel {key!r} utenfor tabellene (gyldige tabeller: {tables})")


def _node(data: dict[str, object]) -> NodeSpec:
    node_id = str(data.get("id", ""))
    _known_keys(data, NODE_KEYS, f"[[node]] {node_id or 'uten id'}")
    if not NODE_ID_RE.match(node_id):
        raise ValidationError(f"[[node]] har ugyldig id {node_id!r}")
    radio_only = bool(data.get("radio_only", False))
    role = str(data.get("role", "repeater" if radio_only else _default_role(node_id)))
    radio = bool(data.get("radio", True))
    if radio_only and not radio:
        raise ValidationError(f"[[node]] {node_id}: en repeater (radio_only) må ha radio")
    return NodeSpec(node_id, str(data.get("name", node_id)), radio_only, role, radio)


def _default_role(node_id: str) -> str:
    return {"SF": "statsforvalter", "POL": "politi"}.get(node_id, "kommune")


def _event(data: dict[str, object], ids: list[str], base: Path) -> Event:
    where = f"[[event]] ved {data.get('at', 0)}"
    _known_keys(data, ("at", *ACTIONS), where)
    actions = [key for key in data if key in ACTIONS]
    if len(actions) > 1:  # the others would be silently dropped
        raise ValidationError(f"{where} har flere handlinger ({', '.join(actions)}): bruk én [[event]] for hver")
    at = parse_duration(data.get("at", 0))
    if "send" in data:
        send = _table(data["send"], f"send i {where}")
        _known_keys(send, SEND_KEYS, f"send i {where}")
        return Event(at, send=_send(send, ids, base))
    if "partition" in data:
        return Event(at, partition=_nodes(data["partition"], ids))
    if "heal" in data:
        return Event(at, heal=_nodes(data["heal"], ids))
    if "crash" in data:
        return Event(at, crash=_nodes([data["crash"]], ids)[0])
    if "restart" in data:
        return Event(at, restart=_nodes([data["restart"]], ids)[0])
    if "inject" in data:
        inject = _table(data["inject"], f"inject i {where}")
        _known_keys(inject, INJECT_KEYS, f"inject i {where}")
        attack = str(inject.get("attack", ""))
        if attack not in ATTACKS:
            raise ValidationError(f"ukjent angrep {attack!r} (gyldige: {', '.join(ATTACKS)})")
        return Event(at, inject=(_nodes([inject.get("into")], ids)[0], attack))
    if "ip_down" in data:
        return Event(at, ip_down=_nodes(data["ip_down"], ids))
    if "ip_up" in data:
        return Event(at, ip_up=_nodes(data["ip_up"], ids))
    if "bridge_down" in data or "bridge_up" in data:
        return Event(at, bridge="bridge_up" in data)
    if "revoke" in data:
        revoke = _table(data["revoke"], f"revoke i {where}")
        _known_keys(revoke, REVOKE_KEYS, f"revoke i {where}")
        node, sender = _nodes([revoke.get("node"), revoke.get("from")], ids)
        if node == sender:
            raise ValidationError(f"revoke i {where}: en node kan ikke sende tilbakekallingen av sin egen nøkkel")
        last_seq = revoke.get("last_seq")
        if last_seq is not None and (not isinstance(last_seq, int) or last_seq < 1):
            raise ValidationError(f"revoke i {where}: last_seq må være et løpenummer (1 eller mer)")
        return Event(at, revoke=(node, sender, last_seq))
    raise ValidationError(f"{where} har ingen handling (gyldige: {', '.join(ACTIONS)})")


def _rogue(data: dict[str, object], nodes: tuple[NodeSpec, ...], duration: float) -> RogueSpec:
    rogue_id = str(data.get("id", ""))
    where = f"[[rogue]] {rogue_id or 'uten id'}"
    _known_keys(data, ROGUE_KEYS, where)
    if not NODE_ID_RE.match(rogue_id):
        raise ValidationError(f"[[rogue]] har ugyldig id {rogue_id!r}")
    ids = [n.id for n in nodes]
    if rogue_id in ids:
        raise ValidationError(f"{where}: id-en er allerede en [[node]]; en fiendtlig radio trenger sin egen id")
    attack = str(data.get("attack", ""))
    if attack not in ROGUE_ATTACKS:
        raise ValidationError(f"{where}: ukjent angrep {attack!r} (gyldige: {', '.join(ROGUE_ATTACKS)})")
    links = _rogue_links(data.get("links"), ids, where)
    stores = [n.id for n in nodes if not n.radio_only]  # the nodes with a key in the roster
    claims = _roster_node(data.get("claims"), stores, "claims", where)
    stolen_key = _roster_node(data.get("stolen_key"), stores, "stolen_key", where)
    if attack in SIGNED_ATTACKS and stolen_key is None:
        raise ValidationError(f"{where}: {attack} signerer med en stjålet nøkkel: oppgi stolen_key")
    if attack not in KEYED_ATTACKS and stolen_key is not None:
        used_by = f"{', '.join(KEYED_ATTACKS[:-1])} og {KEYED_ATTACKS[-1]}"
        raise ValidationError(f"{where}: stolen_key brukes bare av {used_by}, ikke {attack}")
    if stolen_key is not None and claims == stolen_key:
        raise ValidationError(
            f"{where}: claims og stolen_key er samme node; signert med nodens egen nøkkel kan ingen"
            " skille løgnen fra sannheten (la claims nevne en annen node)"
        )
    if attack in SIGNED_ATTACKS and claims is not None:
        raise ValidationError(f"{where}: claims gjelder usignerte rammer; {attack} sender bare signerte meldinger")
    every = parse_duration(data.get("every", "30s"))
    start = parse_duration(data.get("start", 0))
    stop = parse_duration(data.get("stop", duration))
    if every <= 0:
        raise ValidationError(f"{where}: every må være lengre enn 0 s")
    if stop <= start:
        raise ValidationError(f"{where}: stop må komme etter start")
    return RogueSpec(rogue_id, links, attack, every, start, stop, claims, stolen_key)


def _rogue_links(value: object, ids: list[str], where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{where}: links må være en tabell av noder og tap, f.eks. {{ RIN = 0.05 }}")
    links: dict[str, float] = {}
    for node, loss in value.items():
        if node not in ids:
            raise ValidationError(f"{where}: links nevner ukjent node {node!r}")
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0.0 <= loss < 1.0:
            raise ValidationError(f"{where}: tap mot {node} må være et tall mellom 0 og 1")
        links[node] = float(loss)
    return links


def _roster_node(value: object, stores: list[str], key: str, where: str) -> str | None:
    """A node with a key in the roster (a store), or None when ``key`` is not given."""
    if value is None:
        return None
    if value not in stores:
        raise ValidationError(f"{where}: {key} nevner ukjent node {value!r} (gyldige: {', '.join(stores)})")
    return str(value)


def _nodes(value: object, ids: list[str]) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item not in ids:
            raise ValidationError(f"hendelsen nevner ukjent node {item!r}")
    return tuple(str(i) for i in items)


def _send(data: dict[str, object], ids: list[str], base: Path) -> SendSpec:
    origin = _nodes([data.get("from")], ids)[0]
    text = data.get("text")
    if "text_file" in data:
        path = base / str(data["text_file"])
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValidationError(f"kan ikke lese {path}: {exc.strerror}") from None
    fields = data.get("fields", {})
    if not isinstance(fields, dict):
        raise ValidationError("send.fields må være en tabell")
    ref = data.get("ref")
    return SendSpec(
        origin=origin,
        kind=Kind.parse(str(data.get("kind", "MELDING"))),
        priority=Priority.parse(str(data.get("priority", "RUTINE"))),
        to=Address.parse(str(data.get("to", "ALLE"))),
        text=str(text) if text is not None else None,
        fields=dict(fields),
        exercise=bool(data.get("exercise", True)),
        ref=MessageRef.parse(str(ref)) if ref else None,
    )
