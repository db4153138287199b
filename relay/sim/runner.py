"""Virtual-time simulation of a region: real SyncNodes, real stores, the shared medium.

Deterministic for a scenario's seed; an hour of an 8-node mesh runs in seconds.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from relay.core import wire
from relay.core.compose import compose
from relay.core.model import ALL, Kind, Priority
from relay.core.radioqueue import priority_for_rank
from relay.core.roster import Roster
from relay.core.signing import Signer
from relay.core.sync import SyncConfig, SyncNode
from relay.core.sync.config import IP_CONFIG, IP_SECONDS_PER_FRAME
from relay.core.sync.outbox import PathOutbox
from relay.edge import dictionaries
from relay.edge.store import Store
from relay.sim.ipnet import IpNet
from relay.sim.lab import store_roster
from relay.sim.medium import Medium
from relay.sim.receipts import ReceiptStore, pairs, summary
from relay.sim.rogue import Rogue
from relay.sim.scenario import Event, RogueSpec, Scenario, SendSpec

T0 = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)
IP_FRAMES_PER_TURN = 64
EPOCH0 = T0.timestamp()


def node_signer(seed: int, node_id: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"relay-sim/{seed}/{node_id}".encode()).digest())


def lab_roster(scenario: Scenario) -> tuple[Roster, dict[str, Signer]]:
    """The roster every simulated node trusts, and the store nodes' signers: keys derived from the seed."""
    authority = node_signer(scenario.seed, "__authority__")
    signers = {node_id: node_signer(scenario.seed, node_id) for node_id in scenario.store_nodes}
    public_keys = {node_id: signer.public_key for node_id, signer in signers.items()}
    return store_roster(scenario, "Ringerike-regionen (simulert)", authority, public_keys, T0), signers


def sync_config(scenario: Scenario) -> SyncConfig:
    """The sync settings a scenario gives its stores: hop limits chosen by the sync
    unless the scenario overrides them, within the radios' hop limit."""

    def capped(hops: int | None) -> int | None:
        return None if hops is None else min(hops, scenario.hop_limit)

    return SyncConfig(
        flood_hops=capped(scenario.relay_hops),
        routine_hops=capped(scenario.routine_hops),
        max_hops=scenario.hop_limit,
        duty_limit=scenario.duty_cycle * 0.9,
    )


@dataclass
class MessageRecord:
    id: str
    origin: str
    kind: str
    priority: str
    to: str
    sent_at_s: float
    wire_bytes: int
    delivered: dict[str, float] = field(default_factory=dict)
    confirmed: dict[str, float] = field(default_factory=dict)  # store -> when the origin first showed it MOTTATT


@dataclass
class SimNode:
    id: str
    signer: Signer
    store: Store
    roster: Roster
    sync: SyncNode | None = None  # the radio path (None: down, or no radio)
    ip_sync: SyncNode | None = None  # the IP path (None: down, or no IP)
    radio: bool = True
    ip: bool = False
    ip_outbox: PathOutbox | None = None  # with a radio too: the IP path's own outbox
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    sync_airtime_s: float = 0.0


TimelineSink = Callable[[float, str], None]


class Simulation:
    def __init__(self, scenario: Scenario, timeline: TimelineSink | None = None, config: SyncConfig | None = None):
        self.scenario = scenario
        self.rng = random.Random(scenario.seed)
        self.roster, signers = lab_roster(scenario)
        self.dicts = dictionaries.available()
        self.config = config or sync_config(scenario)
        rogue_ids = [r.id for r in scenario.rogues]
        rogue_links = {frozenset((r.id, node)): loss for r in scenario.rogues for node, loss in r.links.items()}
        town_halls = [n.id for n in scenario.nodes if not n.radio_only] if scenario.client_mute else []
        self.medium = Medium(
            [*(n.id for n in scenario.nodes), *rogue_ids],
            {**scenario.links, **rogue_links},
            scenario.preset,
            random.Random(self.rng.random()),
            scenario.duty_cycle,
            routers=[n.id for n in scenario.nodes if n.radio_only],
            mute=[*town_halls, *rogue_ids],  # a rogue relays nobody's packets
            lawless=rogue_ids,
        )
        self.nodes = {
            nid: SimNode(
                nid,
                signer,
                self._store(nid),
                self.roster,
                radio=scenario.has_radio(nid),
                ip=nid in scenario.ip,
            )
            for nid, signer in signers.items()
        }
        self.ipnet = IpNet(
            scenario.ip,
            scenario.ip_latency,
            random.Random(f"relay-sim/{scenario.seed}/ip"),
            scenario.bridged,
            scenario.bridge_latency,
        )
        self.ip_config = IP_CONFIG
        self.messages: dict[str, MessageRecord] = {}
        self.now = 0.0
        self.epoch0 = EPOCH0
        self.last_change = 0.0
        self._emit = timeline or (lambda t, s: None)
        for node in self.nodes.values():
            self._start(node)
        self.rogues = {spec.id: self._rogue(spec) for spec in scenario.rogues}

    # --- nodes ---------------------------------------------------------------

    def _store(self, node_id: str) -> Store:
        store = ReceiptStore(":memory:", self.dicts)
        store.on_receipts = partial(self._receipts, node_id)
        return store

    def _receipts(self, node_id: str, origin: str, first: int, last: int, holder: str) -> None:
        """``node_id``'s store records that ``holder`` holds ``origin``'s first..last: for its
        own messages, the instant the origin shows them as MOTTATT."""
        if origin != node_id:
            return
        for seq in range(first, last + 1):
            record = self.messages.get(f"{origin}-{seq:04d}")
            if record is not None and holder not in record.confirmed:
                record.confirmed[holder] = round(self.now, 3)

    def _start(self, node: SimNode) -> None:
        admission: dict[str, tuple[float, float]] = {}  # one rate per origin, whichever path brings it
        if node.radio:
            node.sync = SyncNode(
                node.id,
                node.signer.key_id,
                node.store,
                node.roster,  # what it saved: a revocation it heard survives its restart
                self.dicts,
                self.medium.airtime_of_length,
                random.Random(self.rng.random()),
                EPOCH0 + self.now,
                self.config,
                on_stored=partial(self._stored, node.id, "radio"),
                on_roster=partial(self._roster_saved, node),
                sign=node.signer.sign,
                elsewhere=partial(self._on_ip, node) if node.ip else None,
                admission=admission,
                path="radio",
                on_holdings=partial(self._holdings_across, node, "ip"),
            )
            node.sync.local_message()
            self.medium.set_attached(node.id, True)
        if node.ip:
            node.ip_outbox = PathOutbox() if node.radio else None
            if node.ip_outbox is not None:
                for origin, seq, rank in node.store.pending():
                    node.ip_outbox.add(origin, seq, rank)
            node.ip_sync = SyncNode(
                node.id,
                node.signer.key_id,
                node.store,
                node.roster,
                self.dicts,
                lambda length: IP_SECONDS_PER_FRAME,
                random.Random(f"relay-sim/{self.scenario.seed}/ip/{node.id}/{self.now}"),
                EPOCH0 + self.now,
                self.ip_config,
                on_stored=partial(self._stored, node.id, "ip"),
                on_roster=partial(self._roster_saved, node),
                sign=node.signer.sign,
                outbox=node.ip_outbox,
                admission=admission,
                path="ip",
                on_holdings=partial(self._holdings_across, node, "radio"),
            )
            node.ip_sync.local_message()

    @staticmethod
    def _holdings_across(node: SimNode, to: str, frame: bytes, now: float) -> None:
        """A signed summary one path took, for the other path to pass on."""
        sync = node.ip_sync if to == "ip" else node.sync
        if sync is not None:
            sync.take_held(frame, now)

    def _on_ip(self, node: SimNode, now: float) -> frozenset[str]:
        """The peers the IP path reaches now (none while our own IP path is down)."""
        if node.ip_sync is None or not self.ipnet.is_up(node.id):
            return frozenset()
        return frozenset(node.ip_sync.peers.neighbours(now))

    def _roster_saved(self, node: SimNode, roster: Roster) -> None:
        """A path took up a newer roster (a notice it heard): so do the node and its other path."""
        node.roster = roster
        for sync in (node.sync, node.ip_sync):
            if sync is not None and sync.roster is not roster:
                sync.set_roster(roster, EPOCH0 + self.now)

    def _stored(self, node_id: str, path: str, signed: wire.SignedMessage, now: float) -> None:
        node = self.nodes[node_id]
        other = node.ip_sync if path == "radio" else node.sync
        if other is not None:
            other.learned(signed, now)
        t = now - EPOCH0
        self.last_change = t
        record = self.messages.get(signed.message.id)
        if record is not None and node_id not in record.delivered:
            record.delivered[node_id] = round(t, 3)
            msg = signed.message
            if msg.kind is Kind.KVITTERING and msg.ref is not None:
                level = msg.get("level")
                what = f"{msg.origin} kvitterer {getattr(level, 'value', level)} for {msg.ref}"
                self._emit(t, f"{node_id} mottok {msg.id}: {what}")
            else:
                self._emit(t, f"{node_id} mottok {msg.id} ({msg.kind.value} fra {msg.origin})")

    def _rogue(self, spec: RogueSpec) -> Rogue:
        """A hostile radio with its own rng (from the seed and its id: adding one
        leaves the honest nodes' draws alone) and, if it has one, a stolen key."""
        stolen = None if spec.stolen_key is None else node_signer(self.scenario.seed, spec.stolen_key)
        rng = random.Random(f"relay-sim/{self.scenario.seed}/rogue/{spec.id}")
        return Rogue(spec, self.roster, rng, T0, stolen, dictionaries.current())

    # --- events --------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        t = self.now
        if event.send is not None:
            self._send(event)
        elif event.partition:
            self.medium.partition(event.partition)
            self._emit(t, f"{', '.join(event.partition)} mister radiokontakten (partisjon)")
        elif event.heal:
            self.medium.heal(event.heal)
            self._emit(t, f"{', '.join(event.heal)} har radiokontakt igjen")
        elif event.crash:
            node = self.nodes.get(event.crash)
            if node is not None and self._running(node):
                self._retire(node)
                self.medium.set_attached(node.id, False)
                self._emit(t, f"{event.crash} krasjer (minnet tapt, lageret beholdt)")
        elif event.restart:
            node = self.nodes.get(event.restart)
            if node is not None and not self._running(node):
                self._start(node)
                self._emit(t, f"{event.restart} starter igjen")
        elif event.ip_down or event.ip_up:
            up = bool(event.ip_up)
            for node_id in event.ip_up or event.ip_down:
                self.ipnet.set_up(node_id, up)
            what = "har IP igjen" if up else "mister IP-forbindelsen (megleren)"
            self._emit(t, f"{', '.join(event.ip_up or event.ip_down)} {what}")
        elif event.bridge is not None:
            self.ipnet.set_bridge(event.bridge)
            self._emit(
                t, "broen til fylkets megler er oppe igjen" if event.bridge else "broen til fylkets megler er brutt"
            )
        elif event.inject is not None:
            self._inject(*event.inject)
        elif event.revoke is not None:
            self._revoke(*event.revoke)

    def _revoke(self, node_id: str, sender: str, last_seq: int | None) -> None:
        """The authority revokes ``node_id``'s key; ``sender`` imports the roster, as
        ``relay roster import`` does: it takes it up and sends the ROSTER message."""
        authority = node_signer(self.scenario.seed, "__authority__")
        at = T0 + timedelta(seconds=self.now)
        self.roster = self.roster.with_revoked(node_id, authority, at, last_seq)
        entry = next(e for e in self.roster.entries if e.node_id == node_id and e.notice is not None)
        host = self.nodes[sender]
        host.roster = self.roster.newer(host.roster)
        for sync in (host.sync, host.ip_sync):
            if sync is not None:
                sync.set_roster(host.roster, EPOCH0 + self.now)
        self._emit(self.now, f"rosterautoriteten tilbakekaller nøkkelen til {node_id}; {sender} sender det ut")
        fields: dict[str, object] = {"notice": entry.notice, "node": node_id, "reason": "Nøkkelen er tilbakekalt."}
        self._send(Event(self.now, send=SendSpec(sender, Kind.ROSTER, Priority.HASTER, ALL, None, fields, True, None)))

    def _send(self, event: Event) -> None:
        spec = event.send
        assert spec is not None
        node = self.nodes[spec.origin]
        created = T0 + timedelta(seconds=self.now)

        def build(seq: int) -> wire.SignedMessage:
            msg = compose(
                spec.kind,
                spec.origin,
                seq,
                created,
                text=spec.text,
                fields=spec.fields,
                priority=spec.priority,
                exercise=spec.exercise,
                to=spec.to,
                ref=spec.ref,
            )
            return wire.encode(msg, node.signer, dictionaries.current())

        signed = node.store.commit_local(spec.origin, build, created)
        msg = signed.message
        self.messages[msg.id] = MessageRecord(
            msg.id,
            msg.origin,
            msg.kind.value,
            msg.priority.value,
            str(msg.to),
            round(self.now, 3),
            len(signed.wire),
            {msg.origin: round(self.now, 3)},
        )
        self.last_change = self.now
        if node.sync is not None:
            node.sync.local_message()
        if node.ip_outbox is not None:
            node.ip_outbox.add(msg.origin, msg.seq, msg.priority.rank)
        if node.ip_sync is not None:
            node.ip_sync.local_message()
        self._emit(self.now, f"{msg.origin} sender {msg.id} {msg.kind.value} {msg.priority.value} til {msg.to}")

    def _inject(self, into: str, attack: str) -> None:
        node = self.nodes[into]
        frame = self._attack_frame(into, attack)
        if not frame:
            self._emit(self.now, f"angrep ({attack}) mot {into}: ingen melding å spille av ennå")
            return
        target = node.sync or node.ip_sync
        if target is not None:
            target.receive(frame, EPOCH0 + self.now)
        self._emit(self.now, f"angrep ({attack}) sendt inn mot {into}")

    def _attack_frame(self, into: str, attack: str) -> bytes:
        mallory = node_signer(self.scenario.seed, "__mallory__")
        victim = next(n for n in self.nodes if n != into)
        msg = compose(Kind.MELDING, victim, 999, T0 + timedelta(seconds=self.now), text="Evakuer rådhuset straks.")
        if attack == "forged":
            body = wire.encode_body(msg, self.nodes[victim].signer.key_id, dictionaries.current())
            return body + mallory.sign(b"relay/msg/1\x00" + body)
        if attack == "tampered":
            signed = wire.encode(msg, self.nodes[victim].signer, dictionaries.current())
            data = bytearray(signed.wire)
            data[12] ^= 0x20
            return bytes(data)
        if attack == "replay":
            for node in (self.nodes[into], *self.nodes.values()):  # a real message heard before
                held = node.store.log()
                if held:
                    return held[0].wire
            return b""  # nothing has been sent yet: nothing to replay
        return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 231)))

    @staticmethod
    def _running(node: SimNode) -> bool:
        return node.sync is not None or node.ip_sync is not None

    def _retire(self, node: SimNode) -> None:
        """Its syncs end (a crash, or the end of the run): keep their figures."""
        for sync in (node.sync, node.ip_sync):
            if sync is None:
                continue
            for reason, count in sync.stats.rejected.items():
                node.rejected[reason] = node.rejected.get(reason, 0) + count
            node.duplicates += sync.stats.duplicates_ignored
        if node.sync is not None:
            node.sync_airtime_s += node.sync.stats.airtime_s
        node.sync = node.ip_sync = None

    # --- the loop -------------------------------------------------------------

    def run(self) -> dict[str, object]:
        events = list(self.scenario.events)
        end = self.scenario.duration
        stalled = 0
        while True:
            candidates = [end]
            if events:
                candidates.append(events[0].at)
            medium_next = self.medium.next_time()
            if medium_next is not None:
                candidates.append(medium_next - EPOCH0)
            for node in self.nodes.values():
                if node.sync is not None and self.medium.idle(node.id, EPOCH0 + self.now):
                    candidates.append(node.sync.next_deadline(EPOCH0 + self.now) - EPOCH0)
                if node.ip_sync is not None and self.ipnet.is_up(node.id):
                    candidates.append(node.ip_sync.next_deadline(EPOCH0 + self.now) - EPOCH0)
            ip_next = self.ipnet.next_time()
            if ip_next is not None:
                candidates.append(ip_next)
            for rogue in self.rogues.values():
                due = rogue.next_send()
                if due is not None:
                    candidates.append(due)
            t = max(self.now, min(candidates))
            stalled = stalled + 1 if t == self.now else 0
            if stalled > 100_000:
                raise RuntimeError(f"simulation stalled at t={t:.3f}s")
            if t >= end and not (events and events[0].at <= end):
                self.now = end
                break
            self.now = t
            while events and events[0].at <= t:
                self._apply(events.pop(0))
            for delivery in self.medium.advance(EPOCH0 + t):
                receiver = self.nodes.get(delivery.node)
                if receiver is not None and receiver.sync is not None:
                    receiver.sync.receive(delivery.frame, EPOCH0 + t, delivery.hops, delivery.hop_start)
                elif delivery.node in self.rogues:
                    self.rogues[delivery.node].hear(delivery.frame)
            for arrival in self.ipnet.advance(t):
                ip_receiver = self.nodes[arrival.node].ip_sync
                if ip_receiver is not None:
                    ip_receiver.receive(arrival.frame, EPOCH0 + t)
            self._poll_rogues(t)
            self._poll_nodes(EPOCH0 + t)
        for node in self.nodes.values():
            if self._running(node):
                self._retire(node)
        return self.report()

    def _poll_rogues(self, t: float) -> None:
        """Hand each rogue's due frames to its radio, with the mesh's highest hop limit
        (a full radio queue drops them, as the firmware's does)."""
        for rogue_id, rogue in self.rogues.items():
            started = rogue.frames_sent > 0
            due = rogue.due(t)
            if due and not started:
                what = f"{rogue.spec.attack}, én ramme per {rogue.spec.every:g} s"
                self._emit(t, f"{rogue_id} (fiendtlig radio) begynner: {what}")
            for frame in due:
                self.medium.send(rogue_id, frame, self.scenario.hop_limit, EPOCH0 + t)
            if due and rogue.next_send() is None:
                self._emit(t, f"{rogue_id} (fiendtlig radio) sender sin siste ramme ({rogue.frames_sent} i alt)")

    def _poll_nodes(self, now: float) -> None:
        for node in self.nodes.values():
            if node.sync is None or not self.medium.idle(node.id, now):
                continue
            if node.sync.next_deadline(now) > now:
                continue
            tx = node.sync.poll(now)
            if tx is not None:
                self.medium.send(node.id, tx.frame, tx.hop_limit, now, priority_for_rank(tx.rank), tx.want_ack)
        for node in self.nodes.values():
            ip_sync = node.ip_sync
            if ip_sync is None or not self.ipnet.is_up(node.id):
                continue
            for _ in range(IP_FRAMES_PER_TURN):  # the broker takes frames as fast as they come
                if ip_sync.next_deadline(now) > now or (ip_tx := ip_sync.poll(now)) is None:
                    break
                self.ipnet.send(node.id, ip_tx.frame, now - EPOCH0)

    # --- results --------------------------------------------------------------

    def converged(self) -> bool:
        digests = {n.store.digest() for n in self.nodes.values()}
        everyone = set(self.nodes)
        return len(digests) == 1 and all(set(m.delivered) >= everyone for m in self.messages.values())

    def report(self) -> dict[str, object]:
        converged = self.converged()
        last_event = max((e.at for e in self.scenario.events), default=0.0)
        converged_at = round(max(last_event, self.last_change), 3) if converged else None
        nodes: dict[str, object] = {}
        for spec in self.scenario.nodes:
            entry = self._radio_figures(spec.id)
            node = self.nodes.get(spec.id)
            if node is None:
                entry["radio_only"] = True
            else:
                entry.update(
                    rejected=dict(sorted(node.rejected.items())),
                    duplicates_ignored=node.duplicates,
                    store_digest=node.store.digest(),
                )
            if spec.id in self.ipnet.figures:
                ip = self.ipnet.figures[spec.id]
                entry.update(
                    ip_frames_sent=ip.frames_sent, ip_bytes_sent=ip.bytes_sent, ip_frames_heard=ip.frames_heard
                )
            if not spec.radio:
                entry["no_radio"] = True
            nodes[spec.id] = entry
        for rogue in self.scenario.rogues:
            nodes[rogue.id] = {**self._radio_figures(rogue.id), "rogue": True, "attack": rogue.attack}
        return {
            "converged": converged,
            "converged_at_s": converged_at,
            "channel_utilization": round(self.medium.utilization(self.scenario.duration), 5),
            "radio_airtime_s": round(sum(r.airtime_s for r in self.medium.radios.values()), 3),
            "ip_frames": sum(f.frames_sent for f in self.ipnet.figures.values()),
            "bridge_frames": self.ipnet.bridge_frames,
            "ip_bytes": sum(f.bytes_sent for f in self.ipnet.figures.values()),
            "messages": [vars(m) for m in self.messages.values()],
            "receipts": summary(
                pairs(self.messages.values(), self.scenario.store_nodes), converged_at, self.scenario.duration
            ),
            "nodes": nodes,
        }

    def _radio_figures(self, radio_id: str) -> dict[str, object]:
        """What one radio sent (relays included) and its busiest rolling hour."""
        radio = self.medium.radios[radio_id]
        return {
            "airtime_s": round(radio.airtime_s, 3),
            "packets_sent": radio.packets_sent,
            "bytes_sent": radio.bytes_sent,
            "max_hourly_duty": round(self.medium.max_hourly_duty(radio_id), 5),
        }
