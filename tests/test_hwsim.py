"""The loopback hardware simulator: framing, the phone API, and the unmodified meshtastic library against it.

The integration tests run the simulator in real time (speedup 50, so a LONG_FAST
packet is about 10 ms on the wall clock) and wait on pubsub events with
timeouts; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from meshtastic.protobuf import mesh_pb2, portnums_pb2
from meshtastic.serial_interface import SerialInterface
from meshtastic.tcp_interface import TCPInterface
from pubsub import pub

from relay.edge.radio import heard_of
from relay.edge.transport import Heard as RadioHeard
from relay.errors import LocalError
from relay.hwsim.device import (
    BROADCAST_NUM,
    ONLY_CONFIG_NONCE,
    ONLY_NODES_NONCE,
    Device,
    Link,
    LoraSettings,
    NodeIdentity,
    node_num,
)
from relay.hwsim.server import BackgroundSimulator
from relay.hwsim.stream import MAX_PAYLOAD, MAX_PENDING, Frame, FrameDecoder, LogText, StreamEvent, encode_frame
from relay.sim import scenario as scenario_mod
from relay.sim.medium import SendResult
from relay.sim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 10.0  # seconds to wait for something that takes milliseconds when it works
PRIVATE_APP = portnums_pb2.PortNum.PRIVATE_APP
DUTY_CYCLE_LIMIT = mesh_pb2.Routing.Error.DUTY_CYCLE_LIMIT


# --- stream framing -----------------------------------------------------------------

payloads = st.lists(st.binary(max_size=MAX_PAYLOAD), max_size=8)
log_text = st.binary(max_size=64).map(lambda b: b.replace(b"\x94", b""))  # text never holds START1


def feed_in_chunks(decoder: FrameDecoder, data: bytes, cuts: list[int]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        events += decoder.feed(data[lo:hi])
        assert decoder.pending <= MAX_PENDING
    return events


def frames_of(events: list[StreamEvent]) -> list[bytes]:
    return [e.payload for e in events if isinstance(e, Frame)]


def text_of(events: list[StreamEvent]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, LogText))


def test_frame_golden_bytes() -> None:
    assert encode_frame(b"\x08\x01") == b"\x94\xc3\x00\x02\x08\x01"
    assert encode_frame(b"") == b"\x94\xc3\x00\x00"
    assert FrameDecoder().feed(b"ok\n\x94\xc3\x00\x01\x07") == [LogText(b"ok\n"), Frame(b"\x07")]


def test_false_starts_give_up_one_byte_and_keep_the_frame_behind_them() -> None:
    # START1 twice, then a header announcing 513 bytes, then a real frame.
    data = b"\x94\x94\xc3\x02\x01" + encode_frame(b"\x10\x20")
    events = FrameDecoder().feed(data)
    assert frames_of(events) == [b"\x10\x20"]
    assert text_of(events) == b"\x94\x94\xc3\x02\x01"


def test_encode_refuses_an_oversized_payload() -> None:
    with pytest.raises(LocalError):
        encode_frame(bytes(MAX_PAYLOAD + 1))


@given(payloads, st.lists(st.integers(min_value=0), max_size=10))
def test_frames_round_trip_however_the_bytes_are_chunked(frames: list[bytes], cuts: list[int]) -> None:
    data = b"".join(encode_frame(p) for p in frames)
    decoder = FrameDecoder()
    events = feed_in_chunks(decoder, data, cuts)
    assert frames_of(events) == frames
    assert text_of(events) == b""
    assert decoder.pending == 0


@given(st.lists(st.tuples(log_text, st.binary(max_size=MAX_PAYLOAD)), max_size=6), st.lists(st.integers(0), max_size=8))
def test_log_text_between_frames_comes_out_intact(parts: list[tuple[bytes, bytes]], cuts: list[int]) -> None:
    data = b"".join(text + encode_frame(frame) for text, frame in parts)
    events = feed_in_chunks(FrameDecoder(), data, cuts)
    assert frames_of(events) == [frame for _, frame in parts]
    assert text_of(events) == b"".join(text for text, _ in parts)


@given(st.binary(max_size=2048), st.lists(st.integers(0), max_size=10))
def test_garbage_never_raises_and_every_byte_is_accounted_for(data: bytes, cuts: list[int]) -> None:
    decoder = FrameDecoder()
    events = feed_in_chunks(decoder, data, cuts)
    framed = sum(4 + len(p) for p in frames_of(events))
    assert framed + len(text_of(events)) + decoder.pending == len(data)


@given(st.lists(st.binary(max_size=MAX_PAYLOAD), min_size=1, max_size=5), st.integers(min_value=0))
def test_a_truncated_stream_yields_exactly_the_complete_frames(frames: list[bytes], cut: int) -> None:
    encoded = [encode_frame(p) for p in frames]
    data = b"".join(encoded)
    cut %= len(data) + 1
    decoder = FrameDecoder()
    events = decoder.feed(data[:cut])
    complete = 0
    while complete < len(encoded) and sum(map(len, encoded[: complete + 1])) <= cut:
        complete += 1
    assert frames_of(events) == frames[:complete]
    assert decoder.pending == cut - sum(map(len, encoded[:complete]))


# --- the phone API, sans-IO --------------------------------------------------------


class FakeRadio:
    def __init__(self, result: SendResult = SendResult.QUEUED) -> None:
        self.result = result
        self.free = 16
        self.sent: list[Any] = []

    def transmit(self, packet: Any, now: float, want_ack: bool = False) -> SendResult:
        self.sent.append(packet)
        return self.result

    def queue_free(self) -> int:
        return self.free

    def airtime(self, payload_len: int) -> float:
        return 0.5


NODES = [NodeIdentity("RIN", node_num("RIN"), "Ringerike kommune"), NodeIdentity("HOL", node_num("HOL"), "Hole")]


def make_device(radio: FakeRadio) -> Device:
    return Device(NODES[0], NODES, LoraSettings("LONG_FAST", 3), radio, random.Random(1))


def to_radio(**fields: Any) -> bytes:
    return encode_frame(mesh_pb2.ToRadio(**fields).SerializeToString())


def from_radio(link: Link) -> list[Any]:
    out = []
    for payload in frames_of(FrameDecoder().feed(link.data_to_send())):
        message = mesh_pb2.FromRadio()
        message.ParseFromString(payload)
        out.append(message)
    return out


def client_packet(payload: bytes = b"hi", want_ack: bool = True, to: int = BROADCAST_NUM) -> Any:
    return mesh_pb2.MeshPacket(
        to=to, id=4242, hop_limit=3, want_ack=want_ack, decoded=mesh_pb2.Data(portnum=PRIVATE_APP, payload=payload)
    )


def connected(device: Device, nonce: int = 99) -> Link:
    link = device.open_link()
    link.receive_data(b"\xc3" * 32 + to_radio(want_config_id=nonce), 0.0)
    return link


def routing_errors(messages: list[Any]) -> list[tuple[int, int]]:
    """(request_id, error_reason) of every routing packet."""
    out = []
    for m in messages:
        if m.HasField("packet") and m.packet.decoded.portnum == portnums_pb2.PortNum.ROUTING_APP:
            routing = mesh_pb2.Routing()
            routing.ParseFromString(m.packet.decoded.payload)
            assert routing.WhichOneof("variant") == "error_reason"  # set explicitly, even NONE
            out.append((m.packet.decoded.request_id, routing.error_reason))
    return out


def test_node_numbers_are_stable_and_never_reserved() -> None:
    assert node_num("RIN") == int.from_bytes(hashlib.sha256(b"RIN").digest()[:4], "big")
    assert len({node_num(f"N{i}") for i in range(500)}) == 500
    assert all(4 <= node_num(f"N{i}") < BROADCAST_NUM for i in range(500))


def test_handshake_lists_my_node_lora_config_channel_and_every_other_node() -> None:
    link = connected(make_device(FakeRadio()), nonce=7)
    messages = from_radio(link)
    assert messages[0].my_info.my_node_num == NODES[0].num
    assert messages[-1].config_complete_id == 7
    users = {m.node_info.num: m.node_info.user for m in messages if m.HasField("node_info")}
    assert {n: (u.id, u.long_name, u.short_name) for n, u in users.items()} == {
        NODES[0].num: (f"!{NODES[0].num:08x}", "Ringerike kommune", "RIN"),
        NODES[1].num: (f"!{NODES[1].num:08x}", "Hole", "HOL"),
    }
    lora = next(m.config.lora for m in messages if m.config.HasField("lora"))
    assert (lora.hop_limit, lora.use_preset, lora.modem_preset, lora.region) == (3, True, 0, 3)  # LONG_FAST, EU_868
    channels = [m.channel for m in messages if m.HasField("channel")]
    assert [c.role for c in channels] == [1] + [0] * 7  # PRIMARY, then DISABLED


def test_special_nonces_skip_the_node_database_or_everything_else() -> None:
    only_config = from_radio(connected(make_device(FakeRadio()), ONLY_CONFIG_NONCE))
    assert [m.node_info.num for m in only_config if m.HasField("node_info")] == [NODES[0].num]
    only_nodes = from_radio(connected(make_device(FakeRadio()), ONLY_NODES_NONCE))
    assert [m.WhichOneof("payload_variant") for m in only_nodes] == ["node_info", "node_info", "config_complete_id"]


def test_accepted_packet_gets_queue_status_now_and_its_ack_one_airtime_later() -> None:
    radio = FakeRadio()
    device = make_device(radio)
    link = connected(device)
    from_radio(link)
    link.receive_data(to_radio(packet=client_packet()), 1.0)
    [status] = from_radio(link)
    assert (status.queueStatus.res, status.queueStatus.mesh_packet_id, status.queueStatus.free) == (0, 4242, 16)
    assert getattr(radio.sent[0], "from") == NODES[0].num and radio.sent[0].hop_start == 3
    device.tick(1.4)
    assert from_radio(link) == []
    device.tick(1.5)
    assert routing_errors(from_radio(link)) == [(4242, mesh_pb2.Routing.Error.NONE)]


def test_refusals_nak_even_without_want_ack_and_a_full_queue_only_says_so() -> None:
    for result, error in ((SendResult.DUTY_CYCLE_LIMIT, DUTY_CYCLE_LIMIT), (SendResult.TOO_LARGE, 7)):
        link = connected(make_device(FakeRadio(result)))
        from_radio(link)
        link.receive_data(to_radio(packet=client_packet(want_ack=False)), 0.0)
        messages = from_radio(link)
        assert messages[0].queueStatus.res == error
        assert routing_errors(messages) == [(4242, error)]
    radio = FakeRadio(SendResult.QUEUE_FULL)
    device = make_device(radio)
    link = connected(device)
    from_radio(link)
    radio.free = 0
    link.receive_data(to_radio(packet=client_packet()), 0.0)
    [status] = from_radio(link)
    assert (status.queueStatus.res, status.queueStatus.free) == (32, 0)
    radio.free = 3
    device.tick(0.1)  # room again: the client, which counts `free` down, must hear of it
    [status] = from_radio(link)
    assert (status.queueStatus.free, status.queueStatus.mesh_packet_id) == (3, 0)


def heard(payload: bytes, to: int = BROADCAST_NUM) -> Any:
    packet = mesh_pb2.MeshPacket(to=to, id=1, decoded=mesh_pb2.Data(portnum=PRIVATE_APP, payload=payload))
    setattr(packet, "from", NODES[1].num)
    return packet


def test_packets_heard_without_a_client_wait_in_a_bounded_queue() -> None:
    device = make_device(FakeRadio())
    for i in range(40):
        device.hear(heard(bytes([i])))
    device.hear(heard(b"not for us", to=NODES[1].num))
    messages = from_radio(connected(device))
    delivered = [m.packet.decoded.payload for m in messages if m.HasField("packet")]
    assert delivered == [bytes([i]) for i in range(32)]  # the firmware drops the newest PRIVATE_APP packets
    assert messages[-33].config_complete_id == 99  # after the handshake, not before


def test_garbage_and_heartbeats_are_ignored() -> None:
    link = connected(make_device(FakeRadio()))
    from_radio(link)
    link.receive_data(encode_frame(b"\xff\xff\xff") + to_radio(heartbeat=mesh_pb2.Heartbeat()) + b"\x94", 0.0)
    assert from_radio(link) == []


# --- the real library against the simulator -----------------------------------------


def build_scenario(
    nodes: list[str],
    links: list[tuple[str, str]],
    duty_cycle: float = 0.10,
    radio_only: tuple[str, ...] = (),
    role: str = "CLIENT_MUTE",
) -> Scenario:
    data = {
        "mesh": {"preset": "LONG_FAST", "seed": 3, "hop_limit": 3, "duty_cycle": duty_cycle, "town_hall_role": role},
        "node": [{"id": n, "name": f"Node {n}", "radio_only": n in radio_only} for n in nodes],
        "link": [{"a": a, "b": b, "loss": 0.0} for a, b in links],
    }
    return scenario_mod.parse(data, ROOT)


CHAIN = build_scenario(["ALFA", "BRAVO", "CHARLIE"], [("ALFA", "BRAVO"), ("BRAVO", "CHARLIE")], role="CLIENT")
HILL = build_scenario(["ALFA", "REP", "CHARLIE"], [("ALFA", "REP"), ("REP", "CHARLIE")], radio_only=("REP",))


class Heard:
    """Collects what pypubsub publishes.  Bound methods: pypubsub keeps only weak references."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Any, dict[str, Any] | None]] = []
        self._cond = threading.Condition()
        pub.subscribe(self.on_receive, "meshtastic.receive")
        pub.subscribe(self.on_lost, "meshtastic.connection.lost")

    def on_receive(self, packet: dict[str, Any], interface: Any) -> None:
        self._put(("receive", interface, packet))

    def on_lost(self, interface: Any) -> None:
        self._put(("lost", interface, None))

    def _put(self, item: tuple[str, Any, dict[str, Any] | None]) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify_all()

    def wait(
        self,
        kind: str,
        interface: Any,
        match: Callable[[dict[str, Any]], bool] = lambda p: True,
        timeout: float = TIMEOUT,
    ) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for k, iface, packet in self._items:
                    if k == kind and iface is interface and (packet is None or match(packet)):
                        return packet
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {kind} event on {interface!r} within {timeout} s")
                self._cond.wait(left)

    def close(self) -> None:
        pub.unsubscribe(self.on_receive, "meshtastic.receive")
        pub.unsubscribe(self.on_lost, "meshtastic.connection.lost")


@pytest.fixture
def heard_events() -> Iterator[Heard]:
    listener = Heard()
    try:
        yield listener
    finally:
        listener.close()


def tcp(sim: BackgroundSimulator, node: str) -> Any:
    address = sim.endpoints[node].tcp
    assert address is not None
    return TCPInterface(hostname="127.0.0.1", portNumber=int(address.rsplit(":", 1)[1]), timeout=int(TIMEOUT))


def private(payload: bytes) -> Callable[[dict[str, Any]], bool]:
    return lambda p: p["decoded"].get("portnum") == "PRIVATE_APP" and p["decoded"]["payload"] == payload


def routing_error(request_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda p: p["decoded"].get("portnum") == "ROUTING_APP" and p["decoded"].get("requestId") == request_id


@contextlib.contextmanager
def closing_all() -> Iterator[list[Any]]:
    interfaces: list[Any] = []
    try:
        yield interfaces
    finally:
        for interface in reversed(interfaces):
            with contextlib.suppress(Exception):
                interface.close()


def test_broadcast_floods_two_hops_from_alfa_to_charlie(heard_events: Heard) -> None:
    with BackgroundSimulator(CHAIN, speedup=50) as sim, closing_all() as interfaces:
        a = tcp(sim, "ALFA")
        interfaces.append(a)
        c = tcp(sim, "CHARLIE")
        interfaces.append(c)
        a.sendData(b"hello", destinationId="^all", portNum=256, wantAck=False, hopLimit=3)
        packet = heard_events.wait("receive", c, private(b"hello"))
        assert packet["from"] == node_num("ALFA")
        assert packet["fromId"] == f"!{node_num('ALFA'):08x}"  # C's node database knows every scenario node
        assert (packet["hopStart"], packet["hopLimit"]) == (3, 2)  # relayed once, by BRAVO
        assert packet["to"] == BROADCAST_NUM


def test_a_client_mute_radio_relays_nothing(heard_events: Heard) -> None:
    muted = build_scenario(["ALFA", "BRAVO", "CHARLIE"], [("ALFA", "BRAVO"), ("BRAVO", "CHARLIE")])
    with BackgroundSimulator(muted, speedup=50) as sim, closing_all() as interfaces:
        a, b, c = (tcp(sim, n) for n in ("ALFA", "BRAVO", "CHARLIE"))
        interfaces.extend((a, b, c))
        a.sendData(b"hello", destinationId="^all", portNum=256, wantAck=False, hopLimit=3)
        heard_events.wait("receive", b, private(b"hello"))  # BRAVO hears it, and keeps it to itself
        with pytest.raises(AssertionError, match="no receive event"):
            heard_events.wait("receive", c, private(b"hello"), timeout=1.0)  # 50 s of air time


def test_a_radio_only_repeater_relays_and_the_far_node_sees_the_hop(heard_events: Heard) -> None:
    """ALFA and CHARLIE hear each other only through REP, a radio-only ROUTER: it takes
    one off the hop limit and keeps hop_start, and CHARLIE's radio says REP relayed it."""
    rep_byte = node_num("REP") & 0xFF
    with BackgroundSimulator(HILL, speedup=50) as sim, closing_all() as interfaces:
        a = tcp(sim, "ALFA")
        interfaces.append(a)
        c = tcp(sim, "CHARLIE")
        interfaces.append(c)
        a.sendData(b"stays in the valley", destinationId="^all", portNum=256, wantAck=False, hopLimit=0)
        a.sendData(b"over the hill", destinationId="^all", portNum=256, wantAck=False, hopLimit=2)
        a.sendData(b"last hop", destinationId="^all", portNum=256, wantAck=False, hopLimit=1)
        packet = heard_events.wait("receive", c, private(b"over the hill"))
        assert packet["from"] == node_num("ALFA")
        assert (packet["hopStart"], packet["hopLimit"], packet["relayNode"]) == (2, 1, rep_byte)
        last = heard_events.wait("receive", c, private(b"last hop"))
        # Its hop limit is used up: 0, which the library's MessageToDict leaves out of the dict.
        assert (last["hopStart"], last.get("hopLimit"), last["relayNode"]) == (1, None, rep_byte)
        assert heard_of(last, b"last hop") == RadioHeard(b"last hop", hops=1, hop_start=1, relay_node=rep_byte)
        # Hop limit 0: the repeater did not carry it (it went first, so it would be here by now).
        with pytest.raises(AssertionError):
            heard_events.wait("receive", c, private(b"stays in the valley"), timeout=0.0)
        assert sim.sim is not None and sim.sim.medium.radios["REP"].relays_sent == 2


def test_serial_interface_on_the_pty_both_ways(heard_events: Heard) -> None:
    with BackgroundSimulator(CHAIN, speedup=50, use_pty=True) as sim, closing_all() as interfaces:
        pty = sim.endpoints["ALFA"].pty
        assert pty is not None and os.path.exists(pty)
        a = SerialInterface(devPath=pty, timeout=int(TIMEOUT))
        interfaces.append(a)
        c = tcp(sim, "CHARLIE")
        interfaces.append(c)
        assert a.myInfo.my_node_num == node_num("ALFA")
        a.sendData(b"over serial", destinationId="^all", portNum=256, hopLimit=3)
        heard_events.wait("receive", c, private(b"over serial"))
        c.sendData(b"back to serial", destinationId="^all", portNum=256, hopLimit=3)
        assert heard_events.wait("receive", a, private(b"back to serial"))["fromId"] == f"!{node_num('CHARLIE'):08x}"


def test_duty_cycle_and_size_refusals_arrive_as_routing_naks(heard_events: Heard) -> None:
    budget_s = 1.0  # of LONG_FAST airtime per rolling hour: a 10-byte packet (0.48 s) fits, 200 bytes (1.9 s) never
    scenario = build_scenario(["ALFA", "BRAVO"], [("ALFA", "BRAVO")], duty_cycle=budget_s / 3600)
    with BackgroundSimulator(scenario, speedup=50) as sim, closing_all() as interfaces:
        a = tcp(sim, "ALFA")
        interfaces.append(a)
        small = a.sendData(b"0123456789", destinationId="^all", portNum=256, wantAck=True)
        ack = heard_events.wait("receive", a, routing_error(small.id))
        assert ack["decoded"]["routing"]["errorReason"] == "NONE"
        big = a.sendData(bytes(200), destinationId="^all", portNum=256, wantAck=True)
        nak = heard_events.wait("receive", a, routing_error(big.id))
        assert nak["decoded"]["routing"]["errorReason"] == "DUTY_CYCLE_LIMIT"
        assert nak["from"] == node_num("ALFA")
        huge = a.sendData(bytes(232), destinationId="^all", portNum=256)  # the library allows 233, the radio 231
        nak = heard_events.wait("receive", a, routing_error(huge.id))
        assert nak["decoded"]["routing"]["errorReason"] == "TOO_LARGE"


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_unplug_drops_the_client_and_replug_lets_it_reconnect(heard_events: Heard) -> None:
    with BackgroundSimulator(CHAIN, speedup=50, use_pty=True) as sim, closing_all() as interfaces:
        c = tcp(sim, "CHARLIE")
        interfaces.append(c)
        a = tcp(sim, "ALFA")
        interfaces.append(a)
        serial_a = SerialInterface(devPath=sim.endpoints["ALFA"].pty, timeout=int(TIMEOUT))
        interfaces.append(serial_a)
        port = int(str(sim.endpoints["ALFA"].tcp).rsplit(":", 1)[1])

        assert sim.unplug("ALFA").tcp is None
        heard_events.wait("lost", a)
        heard_events.wait("lost", serial_a)
        assert refused(port)

        endpoint = sim.replug("ALFA")
        assert endpoint.tcp == f"127.0.0.1:{port}" and endpoint.pty is not None
        again = tcp(sim, "ALFA")
        interfaces.append(again)
        again.sendData(b"back online", destinationId="^all", portNum=256, hopLimit=3)
        heard_events.wait("receive", c, private(b"back online"))


# --- the command line ------------------------------------------------------------------


def test_cli_does_not_import_meshtastic() -> None:
    code = "import sys, relay.cli.main; sys.exit('meshtastic' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_cli_prints_endpoints_obeys_the_control_socket_and_stops_on_sigterm(tmp_path: Path) -> None:
    scenario_file = tmp_path / "chain.toml"
    scenario_file.write_text(
        '[mesh]\npreset = "SHORT_FAST"\n\n'
        '[[node]]\nid = "ALFA"\n\n[[node]]\nid = "BRAVO"\n\n'
        '[[link]]\na = "ALFA"\nb = "BRAVO"\n',
        encoding="utf-8",
    )
    control = tmp_path / "ctl.sock"
    command = [sys.executable, "-m", "relay", "hw-sim", "--scenario", str(scenario_file), "--speedup", "50"]
    proc = subprocess.Popen([*command, "--control", str(control)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True).start()
    try:
        started = [json.loads(lines.get(timeout=30)) for _ in range(2)]
        assert [sorted(d) for d in started] == [["node", "pty", "tcp"]] * 2
        assert [d["node"] for d in started] == ["ALFA", "BRAVO"] and started[0]["pty"] is None
        port = int(started[0]["tcp"].rsplit(":", 1)[1])
        assert not refused(port)

        def ask(line: str) -> Any:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(TIMEOUT)
                s.connect(str(control))
                s.sendall(line.encode() + b"\n")
                return json.loads(s.makefile().readline())

        assert ask("unplug ALFA") == {
            "ok": True,
            "node": "ALFA",
            "tcp": None,
            "pty": None,
            "plugged": False,
            "num": f"!{node_num('ALFA'):08x}",
        }
        assert refused(port)
        assert ask("replug ALFA")["tcp"] == started[0]["tcp"]
        assert json.loads(lines.get(timeout=TIMEOUT)) == started[0]  # announced again
        assert not refused(port)
        assert ask("status")["ok"] and ask("unplug NOBODY") == {"ok": False, "error": "unknown node 'NOBODY'"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=TIMEOUT) == 0
        assert not control.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hw_sim_refuses_a_scenario_with_a_rogue_rather_than_ignore_it() -> None:
    from relay.errors import ValidationError
    from relay.hwsim.server import HardwareSimulator
    from relay.sim import scenario as scenario_mod

    rogue = scenario_mod.load(Path(__file__).resolve().parents[1] / "examples" / "rogue-request-flood.toml")
    with pytest.raises(ValidationError, match=r"relay hw-sim spiller ikke \[\[rogue\]\] ennå"):
        HardwareSimulator(rogue)
