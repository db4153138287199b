"""The hardware simulator's edge: sockets, ptys, the wall clock and the shared medium.

One asyncio loop owns everything: a TCP listener per device (127.0.0.1, an
ephemeral port; the newest client replaces the previous one, as the
firmware's ``APIServerPort`` does), optionally a pseudo-terminal per device,
the control socket, and the driver that runs ``relay.sim.medium.Medium`` on
the wall clock: medium time = wall seconds since start × speedup.

Unplug and replug (the control socket, see ``relay.hwsim``): unplugging
resets the TCP connection, stops listening and closes the pty, so a client
sees its link drop and cannot reconnect; the radio stays on the air and keeps
relaying (``Medium.set_attached(node, False)``).  Replugging listens on the
same TCP port again and opens a new pty (its path may differ) and announces
the device's endpoint line again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import termios
import threading
import time
import tty
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay.errors import ValidationError
from relay.hwsim.device import (
    Device,
    Link,
    LinkState,
    LoraSettings,
    MeshPacket,
    NodeIdentity,
    received_packet,
)
from relay.sim.medium import Delivery, Medium, SendResult, link_snr
from relay.sim.scenario import Scenario

HOST = "127.0.0.1"
READ_CHUNK = 4096
MAX_SERIAL_BACKLOG = 64 * 1024  # bytes waiting for a serial client that does not read: a UART overflows
MAX_TCP_BACKLOG = 1024 * 1024  # a TCP client this far behind is dropped
RADIO_COMMANDS = ("fill", "jam", "sent")  # control commands on one radio's transmit queue
SENT_MEMORY = 4096  # packets on the air whose header the driver remembers for their receivers


class SimClock:
    """Medium seconds on the wall clock: ``speedup`` medium seconds per wall second."""

    def __init__(self, speedup: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.speedup = speedup
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> float:
        return (self._monotonic() - self._t0) * self.speedup

    def wall_delay(self, medium_time: float) -> float:
        """Wall seconds from now until the medium clock reads ``medium_time`` (never negative)."""
        return max(0.0, (medium_time - self.now()) / self.speedup)


@dataclass(frozen=True)
class Endpoint:
    """Where a client finds one simulated device."""

    node: str
    tcp: str | None
    pty: str | None

    def to_json(self) -> str:
        return json.dumps({"node": self.node, "tcp": self.tcp, "pty": self.pty})


def link_quality(loss: float) -> tuple[float, int]:
    """Synthetic (rx_snr dB, rx_rssi dBm) for a link of the given loss: worse links read weaker
    (the SNR is the one the medium's contention windows use)."""
    return link_snr(loss), int(-60 - 70 * loss)


class _MediumRadio:
    """``device.Radio`` for one node: the shared medium."""

    def __init__(self, sim: HardwareSimulator, node: str) -> None:
        self._sim = sim
        self._node = node

    def transmit(self, packet: MeshPacket, now: float, want_ack: bool = False) -> SendResult:
        return self._sim.transmit(self._node, packet, now, want_ack)

    def queue_free(self) -> int:
        return self._sim.medium.queue_free(self._node)

    def airtime(self, payload_len: int) -> float:
        return self._sim.medium.airtime_of_length(payload_len)


# Garbage a client may meet on the stream: log text, a stray start byte, a frame
# whose protobuf does not parse, a truncated frame, a length over the 512 limit.
NOISE = (
    b"DEBUG | ??:??:?? 1 [Router] garbage on the wire\r\n"
    + b"\x94\x00\xff"
    + b"\x94\xc3\x00\x05\xff\xff\xff\xff\xff"
    + b"\x94\xc3\x00\x40\x0a\x02"
    + b"\x94\xc3\xff\xff"
    + b"\r\nINFO  | back to normal\r\n"
)


@dataclass
class _Port:
    """One device and its connections to the world."""

    node: str
    device: Device
    tcp_port: int = 0
    tcp_server: asyncio.Server | None = None
    tcp_client: tuple[Link, asyncio.StreamWriter] | None = None
    pty_master: int | None = None
    pty_slave: int | None = None
    pty_path: str | None = None
    pty_link: Link | None = None
    pty_backlog: bytearray = field(default_factory=bytearray)

    def endpoint(self) -> Endpoint:
        tcp = f"{HOST}:{self.tcp_port}" if self.tcp_server is not None else None
        return Endpoint(self.node, tcp, self.pty_path)


class HardwareSimulator:
    """Simulated Meshtastic devices for every node of a scenario, on one shared medium."""

    def __init__(
        self,
        scenario: Scenario,
        speedup: float = 1.0,
        use_pty: bool = False,
        control_path: Path | None = None,
        announce: Callable[[Endpoint], None] | None = None,
    ) -> None:
        if scenario.rogues:
            raise ValidationError("relay hw-sim spiller ikke [[rogue]] ennå: bruk relay sim run for fiendtlige radioer")
        self.scenario = scenario
        self.clock = SimClock(speedup)
        self.use_pty = use_pty
        self.control_path = control_path
        self._announce = announce or (lambda endpoint: None)
        rng = random.Random(scenario.seed)
        radios = [n for n in scenario.nodes if n.radio]  # a node with IP only has no device
        self.medium = Medium(
            [n.id for n in radios],
            scenario.links,
            scenario.preset,
            random.Random(rng.random()),
            scenario.duty_cycle,
            routers=[n.id for n in radios if n.radio_only],
            mute=[n.id for n in radios if not n.radio_only] if scenario.client_mute else [],
        )
        identities = [NodeIdentity.of(n, scenario.client_mute) for n in radios]
        nums = [i.num for i in identities]
        if len(set(nums)) != len(nums):  # pragma: no cover - 1 in 2^32 per pair
            raise ValueError("two scenario node ids hash to the same node number")
        self.identities = {i.node_id: i for i in identities}
        lora = LoraSettings(scenario.preset.name, scenario.hop_limit)
        self.ports = {
            i.node_id: _Port(
                i.node_id,
                Device(i, identities, lora, _MediumRadio(self, i.node_id), random.Random(rng.random())),
            )
            for i in identities
        }
        self._sent: OrderedDict[int, MeshPacket] = OrderedDict()  # medium packet id -> packet as sent
        self._wake = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None
        self._control: asyncio.Server | None = None

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> list[Endpoint]:
        """Open every device's ports and start the medium; returns (and announces) the endpoints."""
        for port in self.ports.values():
            await self._plug(port)
        if self.control_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.control_path.unlink()
            self._control = await asyncio.start_unix_server(self._serve_control, path=str(self.control_path))
        self._driver = asyncio.create_task(self._drive())
        endpoints = [port.endpoint() for port in self.ports.values()]
        for endpoint in endpoints:
            self._announce(endpoint)
        return endpoints

    async def stop(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None
        for port in self.ports.values():
            await self._unplug(port)
        if self._control is not None:
            self._control.close()
            self._control = None
            if self.control_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self.control_path.unlink()

    def endpoints(self) -> list[Endpoint]:
        return [port.endpoint() for port in self.ports.values()]

    # --- unplug / replug -----------------------------------------------------------

    async def unplug(self, node: str) -> Endpoint:
        port = self._port(node)
        await self._unplug(port)
        return port.endpoint()

    async def replug(self, node: str) -> Endpoint:
        port = self._port(node)
        if not port.device.plugged:
            await self._plug(port)
            self._announce(port.endpoint())
        return port.endpoint()

    def _port(self, node: str) -> _Port:
        if node not in self.ports:
            raise KeyError(f"unknown node {node!r}")
        return self.ports[node]

    async def _plug(self, port: _Port) -> None:
        port.tcp_server = await self._listen(port)
        if self.use_pty:
            self._open_pty(port)
        port.device.replug()
        self.medium.set_attached(port.node, True)

    async def _unplug(self, port: _Port) -> None:
        self._step(self.clock.now())
        self.medium.set_attached(port.node, False)
        port.device.unplug()
        if port.tcp_server is not None:
            port.tcp_server.close()
            port.tcp_server = None
        if port.tcp_client is not None:
            port.tcp_client[1].transport.abort()  # a cut cable: the client gets a reset, not a goodbye
            port.tcp_client = None
        self._close_pty(port)

    # --- TCP -----------------------------------------------------------------------

    async def _listen(self, port: _Port) -> asyncio.Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve_tcp(port, reader, writer)

        try:
            server = await asyncio.start_server(serve, HOST, port.tcp_port)
        except OSError:
            server = await asyncio.start_server(serve, HOST, 0)  # the old port was taken meanwhile
        port.tcp_port = int(server.sockets[0].getsockname()[1])
        return server

    async def _serve_tcp(self, port: _Port, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if port.tcp_client is not None:  # one client at a time: the newest wins
            old_link, old_writer = port.tcp_client
            port.device.close_link(old_link)
            old_writer.close()
        link = port.device.open_link()
        port.tcp_client = (link, writer)
        try:
            while True:
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
                self._receive(port, link, data)
        except OSError:
            pass
        finally:
            if port.tcp_client is not None and port.tcp_client[0] is link:
                port.tcp_client = None
            port.device.close_link(link)
            writer.close()

    # --- pty -----------------------------------------------------------------------

    def _open_pty(self, port: _Port) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)  # no echo, no line discipline: a USB serial port
        os.set_blocking(master, False)
        port.pty_master, port.pty_slave = master, slave  # holding the slave keeps the pty up between clients
        port.pty_path = os.ttyname(slave)
        port.pty_link = port.device.open_link()
        asyncio.get_running_loop().add_reader(master, self._pty_readable, port)

    def _close_pty(self, port: _Port) -> None:
        if port.pty_master is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(port.pty_master)
        loop.remove_writer(port.pty_master)
        for fd in (port.pty_master, port.pty_slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        port.pty_master = port.pty_slave = None
        port.pty_path = None
        port.pty_link = None
        port.pty_backlog.clear()

    def _pty_readable(self, port: _Port) -> None:
        if port.pty_master is None or port.pty_link is None:
            return
        try:
            data = os.read(port.pty_master, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            link = port.pty_link
            was = link.state
            self._receive(port, link, data)
            if was is LinkState.CONNECTED and link.state is LinkState.IDLE and port.pty_slave is not None:
                # The client said goodbye: what it left unread must not greet the next one.
                port.pty_backlog.clear()
                with contextlib.suppress(termios.error):
                    termios.tcflush(port.pty_slave, termios.TCIFLUSH)

    def _pty_write(self, port: _Port, data: bytes) -> None:
        if port.pty_master is None:
            return
        room = MAX_SERIAL_BACKLOG - len(port.pty_backlog)
        port.pty_backlog += data[: max(room, 0)]
        self._pty_writable(port)

    def _pty_writable(self, port: _Port) -> None:
        master = port.pty_master
        if master is None:
            return
        loop = asyncio.get_running_loop()
        try:
            while port.pty_backlog:
                written = os.write(master, port.pty_backlog)
                del port.pty_backlog[:written]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            port.pty_backlog.clear()
        if port.pty_backlog:
            loop.add_writer(master, self._pty_writable, port)
        else:
            loop.remove_writer(master)

    # --- the medium ------------------------------------------------------------------

    def transmit(self, node: str, packet: MeshPacket, now: float, want_ack: bool = False) -> SendResult:
        """A device hands a packet to its radio (``_receive`` has advanced the medium to ``now``);
        a broadcast with ``want_ack`` goes again until the radio hears it relayed."""
        payload = bytes(packet.decoded.payload)
        result = self.medium.send(node, payload, int(packet.hop_limit), now, int(packet.priority), want_ack)
        if result is SendResult.QUEUED:
            sent = type(packet)()
            sent.CopyFrom(packet)
            self._sent[self.medium.last_packet_id] = sent
            while len(self._sent) > SENT_MEMORY:
                self._sent.popitem(last=False)
            self._wake.set()
        return result

    def _receive(self, port: _Port, link: Link, data: bytes) -> None:
        now = self.clock.now()
        self._step(now)
        link.receive_data(data, now)
        self._wake.set()  # new packets or timers may be due sooner than the driver sleeps
        self._flush()

    def _step(self, now: float) -> None:
        for delivery in self.medium.advance(now):
            self._deliver(delivery)
        for port in self.ports.values():
            port.device.tick(now)
        self._flush()

    def _deliver(self, delivery: Delivery) -> None:
        sent = self._sent.get(delivery.packet_id)
        if sent is None:
            return
        loss = self.medium.links.get(frozenset((delivery.sender, delivery.node)), 0.0)
        snr, rssi = link_quality(loss)
        relay = self.identities[delivery.sender].num  # the radio we heard: the origin, or a repeater
        packet = received_packet(sent, delivery.hop_limit, delivery.hop_start, relay, snr, rssi, int(time.time()))
        self.ports[delivery.node].device.hear(packet)

    def _next_due(self) -> float | None:
        times = [self.medium.next_time(), *(port.device.next_timer() for port in self.ports.values())]
        due = [t for t in times if t is not None]
        return min(due) if due else None

    async def _drive(self) -> None:
        while True:
            self._wake.clear()
            self._step(self.clock.now())
            due = self._next_due()
            timeout = None if due is None else self.clock.wall_delay(due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _flush(self) -> None:
        for port in self.ports.values():
            for link in list(port.device.links):
                data = link.data_to_send()
                if not data:
                    continue
                if link is port.pty_link:
                    self._pty_write(port, data)
                elif port.tcp_client is not None and port.tcp_client[0] is link:
                    writer = port.tcp_client[1]
                    if writer.transport.get_write_buffer_size() > MAX_TCP_BACKLOG:
                        writer.transport.abort()
                    else:
                        writer.write(data)

    # --- control socket -------------------------------------------------------------------

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self.command(line.decode(errors="replace"))
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def command(self, line: str) -> dict[str, Any]:
        """One control command: ``unplug NODE``, ``replug NODE``, ``partition NODE..``, ``heal NODE..``,
        ``noise NODE`` (hostile bytes on the device's stream), ``fill NODE [COUNT]``, ``jam NODE
        SECONDS``, ``sent NODE`` (the transmit queue: ``_radio_command``), ``status``."""
        words = line.split()
        if not words:
            return {"ok": False, "error": "empty command"}
        verb, nodes, args = words[0].lower(), words[1:], []
        if verb in RADIO_COMMANDS and 2 <= len(words) <= 4:
            nodes, args = words[1:2], words[2:]
        unknown = [n for n in nodes if n not in self.ports]
        if unknown:
            return {"ok": False, "error": f"unknown node {unknown[0]!r}"}
        if verb in ("unplug", "replug") and len(nodes) == 1:
            endpoint = await (self.unplug(nodes[0]) if verb == "unplug" else self.replug(nodes[0]))
            return {"ok": True, **self._status(endpoint)}
        if verb in ("partition", "heal") and nodes:
            self._step(self.clock.now())
            (self.medium.partition if verb == "partition" else self.medium.heal)(nodes)
            return {"ok": True, "cut": sorted(self.medium.cut)}
        if verb in RADIO_COMMANDS and 2 <= len(words) <= 4:
            return self._radio_command(verb, nodes[0], args)
        if verb == "noise" and len(nodes) == 1:
            return {"ok": True, "node": nodes[0], "bytes": self._noise(self.ports[nodes[0]])}
        if verb == "status" and not nodes:
            return {"ok": True, "devices": [self._status(port.endpoint()) for port in self.ports.values()]}
        return {"ok": False, "error": f"unknown command {line.strip()!r}"}

    def _radio_command(self, verb: str, node: str, args: list[str]) -> dict[str, Any]:
        """``fill NODE [COUNT [PRIORITY]]``: COUNT (default: all free) relays of packets no client
        hears into the radio's transmit queue, at PRIORITY (default DEFAULT; 120 for relayed
        routing ACKs), as a busy neighbourhood would;
        ``jam NODE SECONDS``: a carrier only NODE hears for SECONDS of medium time (0 ends it);
        ``sent NODE``: what the radio transmitted (priority, when queued and sent, relay or own)
        and what waits in its queue."""
        now = self.clock.now()
        self._step(now)
        try:
            numbers = [float(a) for a in args]
        except ValueError:
            return {"ok": False, "error": f"not a number: {' '.join(args)!r}"}
        number, more = (numbers[0], numbers[1:]) if numbers else (None, [])
        if verb == "fill":
            count = self.medium.queue_free(node) if number is None else int(number)
            taken = self.medium.occupy(node, count, now, *(int(p) for p in more[:1]))
            self._wake.set()
            return {"ok": True, "node": node, "queued": taken, "free": self.medium.queue_free(node)}
        if verb == "jam" and number is not None:
            self.medium.jam(node, now, number)
            self._wake.set()
            return {"ok": True, "node": node, "until": round(now + number, 3)}
        sent = [
            {
                "queued": round(s.queued, 3),
                "start": round(s.start, 3),
                "priority": s.priority,
                "relayed": s.relayed,
                "length": s.length,
            }
            for s in self.medium.sent_log
            if s.sender == node
        ]
        return {"ok": True, "node": node, "sent": sent, "waiting": self.medium.queue_priorities(node)}

    def _noise(self, port: _Port) -> int:
        """Write hostile bytes to the device's clients, as a flaky USB cable or firmware bug would."""
        if port.pty_link is not None:
            self._pty_write(port, NOISE)
        if port.tcp_client is not None:
            port.tcp_client[1].write(NOISE)
        return len(NOISE)

    def _status(self, endpoint: Endpoint) -> dict[str, Any]:
        port = self.ports[endpoint.node]
        return {
            "node": endpoint.node,
            "tcp": endpoint.tcp,
            "pty": endpoint.pty,
            "plugged": port.device.plugged,
            "num": port.device.me.user_id,
        }


async def serve(
    scenario: Scenario,
    speedup: float,
    use_pty: bool,
    control_path: Path | None,
    announce: Callable[[Endpoint], None],
) -> None:
    """Run until SIGTERM or SIGINT (the CLI's entry point)."""
    sim = HardwareSimulator(scenario, speedup, use_pty, control_path, announce)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await sim.start()
        await stop.wait()
    finally:
        await sim.stop()


class BackgroundSimulator:
    """A ``HardwareSimulator`` on its own event-loop thread, driven from ordinary code (tests)."""

    def __init__(
        self,
        scenario: Scenario,
        speedup: float = 1.0,
        use_pty: bool = False,
        control_path: Path | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hwsim", daemon=True)
        self._args = (scenario, speedup, use_pty, control_path)
        self.sim: HardwareSimulator | None = None
        self.endpoints: dict[str, Endpoint] = {}

    def __enter__(self) -> BackgroundSimulator:
        self._thread.start()
        self.sim = self._call(self._create())
        for endpoint in self._call(self.sim.start()):
            self.endpoints[endpoint.node] = endpoint
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sim is not None:
            self._call(self.sim.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _create(self) -> HardwareSimulator:
        return HardwareSimulator(*self._args)  # inside the loop: its asyncio objects bind to it

    def unplug(self, node: str) -> Endpoint:
        assert self.sim is not None
        self.endpoints[node] = self._call(self.sim.unplug(node))
        return self.endpoints[node]

    def replug(self, node: str) -> Endpoint:
        assert self.sim is not None
        self.endpoints[node] = self._call(self.sim.replug(node))
        return self.endpoints[node]

    def _call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
