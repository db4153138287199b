"""The radio bridge: relay frames to and from a Meshtastic device over USB serial or TCP.

The one module in relay that imports meshtastic, and only when a transport is
opened (``_library``): importing the library starts a thread and pulls in
protobuf, bleak and dbus, which the CLI must never pay for.  The daemon talks
to a ``MeshtasticTransport`` through the small ``Transport`` protocol of
``relay.edge.transport``, so that its loop is tested against a fake.

On the air, a frame is one Meshtastic packet: a PRIVATE_APP (256) broadcast on
the configured channel with the hop limit the sync chose, at most
``MAX_APP_PAYLOAD`` = 231 application bytes (the library accepts 233, but the
firmware's 255-byte limit for header + Data leaves 231 on a channel).  What
it heard comes back as a ``Heard``: the frame and how far it travelled, from the
packet's ``hopStart`` and ``hopLimit`` (hops = hopStart - hopLimit; firmware
before 2.3 sends no hopStart, and then we take it as heard directly) and
``relayNode`` (2.6+).  The library hands packets over as protobuf
``MessageToDict`` dicts, which leave out every field that is 0: a packet that
used up its last hop has no ``hopLimit`` key at all.

Threads, and why (the library's own: a reader per interface, one process-wide
pubsub publishing thread, a heartbeat timer):

* ``relay-radio-link`` opens the interface, watches it, and reopens it with
  exponential backoff (1 s .. 60 s).  Opening runs the config handshake and can
  take up to ``connect_timeout``; the daemon loop never waits for it.
* ``relay-radio-send`` calls ``sendData``.  The library blocks there for 30 s
  when the link has just dropped (``_waitConnected``), spins while the device
  queue is full, and reconnects TCP inline; none of that may stall the daemon.
* pubsub listeners (bound methods of this object, filtered on the interface)
  only put payloads on a bounded ``queue.Queue``.

Each frame goes out with the firmware priority the daemon gives it
(``sendData(..., priority=...)``; ``relay.core.radioqueue.priority_for_rank``),
which orders it in the radio's 16-packet transmit queue.  When that queue is
full of packets at its priority or above, the firmware refuses the packet and
says so only in a ``QueueStatus`` with an error (the library publishes no
event for it; ``_watch_queue_status`` wraps its handler).  A refused frame is
kept and sent again, before any frame of lower priority, once the radio
reports room (``_refused``); it survives a reconnect.  A packet the firmware
evicts for a higher-priority one is not reported to the client at all: the
sync's summaries show it missing and it is repaired.

Every library call is wrapped: the library calls ``sys.exit`` on some errors
(``util.our_exit``), so ``SystemExit`` is caught like any exception.  Its
``print``s are the daemon's business (it points ``sys.stdout`` at the log).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from functools import cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from relay.core.airtime import MAX_APP_PAYLOAD, PRESETS, Preset
from relay.edge.outgoing import Outgoing, Refused
from relay.edge.transport import DEFAULT_PRIORITY, Heard
from relay.errors import ConfigError

log = logging.getLogger("relay.radio")

PRIVATE_APP = 256  # portnums.proto: PRIVATE_APP; our frames are opaque bytes to the firmware
BROADCAST = "^all"  # the library's broadcast address (never a short name: those can reach sys.exit)
DEFAULT_TCP_PORT = 4403
INBOX_MAX = 512  # frames heard but not yet taken by the daemon; beyond this the oldest are dropped
SENT_MEMORY = 64  # packet ids remembered to match the device's NAKs
CLOSE_TIMEOUT_S = 5.0
DUTY_PAUSE_MIN_S = 30.0
DUTY_PAUSE_MAX_S = 900.0
MAX_HOPS = 7  # hop_start and hop_limit are 3-bit fields of the packet header
QUEUE_FULL = 32  # QueueStatus.res for a packet the full transmit queue refused (firmware ERRNO_UNKNOWN)
RETRY_POLL_S = 0.25  # the sender thread looks this often for a refused frame the radio now has room for
SEND_AGAIN_RE = re.compile(r"send again in (\d+) min", re.IGNORECASE)

# Modem presets beyond relay.core.airtime.PRESETS, from the firmware's modemPresetToParams:
# name -> (spreading factor, bandwidth Hz, coding rate denominator).
EXTRA_PRESETS: dict[str, tuple[int, int, int]] = {
    "SHORT_TURBO": (7, 500_000, 5),
    "SHORT_SLOW": (8, 250_000, 5),
    "MEDIUM_SLOW": (10, 250_000, 5),
    "LONG_TURBO": (11, 500_000, 8),
    "LONG_SLOW": (12, 125_000, 8),
    "VERY_LONG_SLOW": (12, 62_500, 8),
}
# LoRaConfig.bandwidth is in kHz, with these shorthands for the fractional widths.
BANDWIDTH_KHZ = {31: 31.25, 62: 62.5, 200: 203.125, 400: 406.25, 800: 812.5, 1600: 1625.0}


# --- the address of a radio -----------------------------------------------------------


@dataclass(frozen=True)
class RadioUrl:
    """``serial:///dev/ttyACM0`` (any device path, by-id link or pty) or ``tcp://HOST[:4403]``."""

    scheme: str  # "serial" or "tcp"
    target: str  # device path, or host name / address
    port: int = DEFAULT_TCP_PORT

    def __str__(self) -> str:
        if self.scheme == "serial":
            return f"serial://{self.target}"
        host = f"[{self.target}]" if ":" in self.target else self.target
        return f"tcp://{host}:{self.port}"


def parse_url(text: str) -> RadioUrl:
    """Parse a radio address; a bare absolute path means a serial device."""
    text = text.strip()
    if text.startswith("/"):
        return RadioUrl("serial", text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(code="bad_radio_url", text=text) from None
    if parts.scheme == "serial" and parts.path.startswith("/") and not parts.netloc:
        return RadioUrl("serial", parts.path)
    if parts.scheme == "tcp" and parts.hostname and parts.path in ("", "/"):
        return RadioUrl("tcp", parts.hostname, port or DEFAULT_TCP_PORT)
    raise ConfigError(code="bad_radio_url", text=text)


# --- the library, imported on first use ------------------------------------------------


@cache
def _library() -> SimpleNamespace:
    from meshtastic.protobuf import config_pb2
    from meshtastic.serial_interface import SerialInterface
    from meshtastic.tcp_interface import TCPInterface
    from pubsub import pub

    return SimpleNamespace(
        pub=pub, SerialInterface=SerialInterface, TCPInterface=TCPInterface, LoRaConfig=config_pb2.Config.LoRaConfig
    )


def modem_of(lora: Any) -> Preset | None:
    """The modem settings of a device's ``Config.LoRaConfig`` (None if they cannot be told)."""
    try:
        if lora.use_preset:
            name = _library().LoRaConfig.ModemPreset.Name(lora.modem_preset)
            if name in PRESETS:
                return PRESETS[name]
            if name in EXTRA_PRESETS:
                sf, bw, cr = EXTRA_PRESETS[name]
                return Preset(name, sf, bw, cr)
            return None
        bandwidth_hz = int(BANDWIDTH_KHZ.get(lora.bandwidth, lora.bandwidth) * 1000)
        if 7 <= lora.spread_factor <= 12 and bandwidth_hz > 0 and 5 <= lora.coding_rate <= 8:
            name = f"SF{lora.spread_factor}/{bandwidth_hz // 1000}kHz/4:{lora.coding_rate}"
            return Preset(name, lora.spread_factor, bandwidth_hz, lora.coding_rate)
    except (AttributeError, ValueError, TypeError):
        pass
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the meshtastic library tried to exit ({exc.code})"
    text = str(getattr(exc, "message", "") or exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def _bounded(call: Any, timeout: float, what: str) -> None:
    """Run a library call that may hang (closing a dead link) on a helper thread, for at most ``timeout``."""

    def target() -> None:
        try:
            call()
        except (Exception, SystemExit) as exc:
            log.debug("%s: %s", what, _describe(exc))

    thread = threading.Thread(target=target, name="relay-radio-close", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("%s did not finish in %.0f s; left behind", what, timeout)


# --- the transport ----------------------------------------------------------------------


class LinkState(Enum):
    """Where the link thread is; ``close`` ends in CLOSED.  Never serialised: the
    daemon's status tells the link's state from ``connected`` and ``link_detail``."""

    CONNECTING = "connecting"  # opening the interface and running the config handshake
    CONNECTED = "connected"  # handshake done: frames flow (while the interface stays connected)
    DOWN = "down"  # the open failed or the link dropped; ``link_detail`` says why
    CLOSED = "closed"


class MeshtasticTransport:
    """A Meshtastic device as the daemon's ``Transport``."""

    def __init__(
        self,
        url: RadioUrl,
        channel_index: int = 0,
        *,
        connect_timeout: float = 30.0,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        wake: threading.Event | None = None,
    ) -> None:
        self.url = url
        self.channel_index = channel_index
        self.connect_timeout = connect_timeout
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.modem: Preset | None = None  # known once connected
        self.dropped = 0  # frames heard but dropped because the daemon fell behind
        self._wake = wake  # set on every frame heard: the daemon waits on it beside the IP path
        self._inbox: queue.Queue[Heard] = queue.Queue(maxsize=INBOX_MAX)
        self._jobs: queue.Queue[tuple[Any, Outgoing] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._iface: Any = None
        self._state = LinkState.CONNECTING
        self._detail: str | None = None
        self._lost = threading.Event()
        self._closing = threading.Event()
        self._sending = False
        self._paused_until = 0.0  # monotonic: no sending before this (duty-cycle NAK)
        self._duty_naks = 0
        self._last_duty_nak = 0.0
        self._sent: OrderedDict[int, Outgoing] = OrderedDict()  # packet id -> what it carried
        self._refused = Refused()  # refused by a full transmit queue: sent again, highest priority first
        self._early: OrderedDict[int, None] = OrderedDict()  # refusals heard before sendData returned the id
        self.refused = 0  # frames the radio's full transmit queue refused (each sent again)
        self._started = False
        self._threads = [
            threading.Thread(target=self._run_link, name="relay-radio-link", daemon=True),
            threading.Thread(target=self._run_sender, name="relay-radio-send", daemon=True),
        ]

    # --- the Transport protocol -------------------------------------------------------

    @property
    def connected(self) -> bool:
        iface = self._iface
        return self._state is LinkState.CONNECTED and iface is not None and iface.isConnected.is_set()

    @property
    def link_detail(self) -> str | None:
        """Why the link is down or sending paused; None when all is well."""
        paused = self._paused_until - time.monotonic()
        if self._state is LinkState.CONNECTED and paused > 0:
            return f"duty cycle: sending paused for {paused:.0f} s"
        return self._detail

    def start(self) -> None:
        """Subscribe to the library's topics and start connecting (in the background)."""
        lib = _library()
        self._started = True
        lib.pub.subscribe(self._on_receive, "meshtastic.receive")
        lib.pub.subscribe(self._on_lost, "meshtastic.connection.lost")
        lib.pub.subscribe(self._on_notification, "meshtastic.clientNotification")
        for thread in self._threads:
            thread.start()

    def send(self, frame: bytes, hop_limit: int, priority: int = DEFAULT_PRIORITY, want_ack: bool = False) -> bool:
        """Hand one frame to the radio at firmware ``priority``.  False: not now (link down, paused,
        busy, or a refused frame of at least its priority goes first), or never (too large)."""
        if len(frame) > MAX_APP_PAYLOAD:
            log.error("refusing to send a %d-byte frame (at most %d fit a packet)", len(frame), MAX_APP_PAYLOAD)
            return False
        with self._lock:
            iface = self._ready()
            if iface is None:
                return False
            if self._refused.goes_before(priority):
                self._send_again(iface)  # the refused frame first; this one waits
                return False
        self._jobs.put((iface, Outgoing(frame, hop_limit, priority, want_ack)))
        return True

    def _ready(self) -> Any:
        """The interface when it can take a packet now, marked busy (under the lock); else None."""
        iface = self._iface
        if iface is None or not self.connected or self._sending or time.monotonic() < self._paused_until:
            return None
        status = getattr(iface, "queueStatus", None)
        if status is not None and status.free <= 0:
            return None  # the library would spin in _sendToRadio until the device has room
        self._sending = True
        return iface

    def receive(self, timeout: float) -> Heard | None:
        try:
            if timeout <= 0:
                return self._inbox.get_nowait()
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop the threads and close the interface (bounded: a dead device cannot hang shutdown)."""
        self._closing.set()
        self._lost.set()  # wakes the link thread now rather than at its next poll
        self._jobs.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(CLOSE_TIMEOUT_S)
        self._drop(self._iface)
        self._state = LinkState.CLOSED
        if not self._started:
            return
        with contextlib.suppress(Exception):
            lib = _library()
            lib.pub.unsubscribe(self._on_receive, "meshtastic.receive")
            lib.pub.unsubscribe(self._on_lost, "meshtastic.connection.lost")
            lib.pub.unsubscribe(self._on_notification, "meshtastic.clientNotification")

    # --- the link thread ----------------------------------------------------------------

    def _run_link(self) -> None:
        delay = self.min_backoff
        while not self._closing.is_set():
            self._set_state(LinkState.CONNECTING, None)
            iface, error = self._open()
            if iface is None:
                self._set_state(LinkState.DOWN, error)
                log.warning("radio %s: %s; retrying in %.0f s", self.url, error, delay)
                if self._closing.wait(delay):
                    break
                delay = min(delay * 2, self.max_backoff)
                continue
            up_since = time.monotonic()
            self._set_state(LinkState.CONNECTED, None)
            name = self.modem.name if self.modem else "unknown modem settings"
            log.info("radio connected: %s (node %s, %s)", self.url, _node_name(iface), name)
            reason = self._watch(iface)
            self._drop(iface)
            if self._closing.is_set():
                break
            if time.monotonic() - up_since > self.max_backoff:
                delay = self.min_backoff  # it held for a while: start the backoff afresh
            self._set_state(LinkState.DOWN, reason)
            log.warning("radio link lost (%s); reconnecting in %.0f s", reason, delay)
            if self._closing.wait(delay):
                break
            delay = min(delay * 2, self.max_backoff)

    def _open(self) -> tuple[Any, str | None]:
        """Open and handshake; (interface, None) or (None, why not)."""
        lib = _library()
        iface: Any = None
        try:
            # connectNow=False: we hold the object before packets can arrive, so the
            # listener's interface filter accepts the ones the radio kept for us.
            if self.url.scheme == "tcp":
                iface = lib.TCPInterface(
                    self.url.target, portNumber=self.url.port, connectNow=False, timeout=int(self.connect_timeout)
                )
            else:
                iface = lib.SerialInterface(
                    devPath=self.url.target, connectNow=False, timeout=int(self.connect_timeout)
                )
            with self._lock:
                self._iface = iface
            self._lost.clear()
            self._watch_queue_status(iface)
            iface.connect()
            iface.waitForConfig()
            self.modem = modem_of(iface.localNode.localConfig.lora)
            return iface, None
        except (Exception, SystemExit) as exc:
            self._drop(iface)
            return None, _describe(exc)

    def _watch(self, iface: Any) -> str:
        """Wait until the link is gone (or we are closing); return why."""
        down_since: float | None = None
        while not self._closing.is_set():
            self._lost.wait(0.5)
            self._lost.clear()
            if iface.isConnected.is_set():
                down_since = None
                continue
            # A rebooted device re-handshakes on the same interface (lost, then established):
            # give the library a while before reopening, unless its reader thread is gone.
            reader = getattr(iface, "_rxThread", None)
            if reader is not None and not reader.is_alive():
                return "the connection to the device closed"
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > self.connect_timeout:
                return "the device did not come back"
        return "closing"

    def _drop(self, iface: Any) -> None:
        with self._lock:
            if self._iface is iface:
                self._iface = None
        if iface is not None:
            _bounded(iface.close, CLOSE_TIMEOUT_S, "closing the radio interface")

    def _set_state(self, state: LinkState, detail: str | None) -> None:
        self._state = state
        self._detail = detail

    # --- the sender thread --------------------------------------------------------------

    def _run_sender(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=RETRY_POLL_S)
            except queue.Empty:
                self._retry_refused()
                continue
            if job is None:
                return
            iface, out = job
            try:
                packet = iface.sendData(
                    out.frame,
                    destinationId=BROADCAST,
                    portNum=PRIVATE_APP,
                    wantAck=out.want_ack,  # a broadcast's implicit ACK: the radio retries until relayed
                    channelIndex=self.channel_index,
                    hopLimit=out.hop_limit,
                    priority=out.priority,
                )
                with self._lock:
                    self._sent[int(packet.id)] = out
                    while len(self._sent) > SENT_MEMORY:
                        self._sent.popitem(last=False)
                    early = self._early.pop(int(packet.id), False) is None
                if early:
                    self._keep_refused(int(packet.id))
            except (Exception, SystemExit) as exc:
                log.warning("radio send failed: %s", _describe(exc))
                self._lost.set()
            finally:
                with self._lock:
                    self._sending = False

    def _retry_refused(self) -> None:
        """Nothing to send for the daemon: a refused frame goes again once the radio has room."""
        with self._lock:
            if not self._refused:
                return
            iface = self._ready()
            if iface is None:
                return
            self._send_again(iface)

    def _send_again(self, iface: Any) -> None:
        """The first refused frame to the sender thread (under the lock, ``_ready`` done)."""
        out = self._refused.pop()
        log.info("sending again a %d-byte frame the radio's full transmit queue refused", len(out.frame))
        self._jobs.put((iface, out))

    # --- the transmit queue's refusals (the library's reader thread) ------------------------

    def _watch_queue_status(self, iface: Any) -> None:
        """Hear the device's QueueStatus replies: the library keeps them to itself."""
        handle = iface._handleQueueStatusFromRadio

        def watched(status: Any) -> None:
            try:
                if int(status.res) == QUEUE_FULL:
                    self._keep_refused(int(status.mesh_packet_id))
            except Exception as exc:
                log.error("could not handle a queue status from the radio: %s", _describe(exc))
            handle(status)

        iface._handleQueueStatusFromRadio = watched

    def _keep_refused(self, packet_id: int) -> None:
        """The full transmit queue refused ``packet_id``: keep its frame to send again."""
        with self._lock:
            out = self._sent.pop(packet_id, None)
            if out is None:  # sendData has not returned its id yet: the sender thread will look
                self._early[packet_id] = None
                while len(self._early) > SENT_MEMORY:
                    self._early.popitem(last=False)
                return
            self.refused += 1
            dropped = self._refused.add(out)
        log.warning(
            "the radio's transmit queue was full: it refused a %d-byte frame (priority %d); sending it again"
            " when it has room",
            len(out.frame),
            out.priority,
        )
        if dropped is not None:
            log.warning("too many refused frames kept: dropped a %d-byte one; the sync repairs it", len(dropped.frame))

    # --- pubsub listeners (the library's publishing thread: never block, never raise) ---------

    def _on_receive(self, packet: Any, interface: Any) -> None:
        if interface is not self._iface or self._iface is None:
            return
        try:
            self._handle_packet(packet, interface)
        except Exception as exc:
            log.error("could not handle a packet from the radio: %s", _describe(exc))

    def _handle_packet(self, packet: dict[str, Any], interface: Any) -> None:
        decoded = packet.get("decoded")
        if not isinstance(decoded, dict):
            return  # not decrypted on our channel
        portnum = decoded.get("portnum")
        if portnum in ("PRIVATE_APP", PRIVATE_APP):
            payload = decoded.get("payload")
            my_info = getattr(interface, "myInfo", None)
            if not isinstance(payload, bytes) or (my_info is not None and packet.get("from") == my_info.my_node_num):
                return
            self._deliver(heard_of(packet, payload))
        elif portnum in ("ROUTING_APP", 5):
            routing = decoded.get("routing")
            request_id = decoded.get("requestId")
            if isinstance(routing, dict) and request_id is not None:
                self._routing(int(request_id), str(routing.get("errorReason", "NONE")))

    def _deliver(self, heard: Heard) -> None:
        while True:
            try:
                self._inbox.put_nowait(heard)
                if self._wake is not None:
                    self._wake.set()
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._inbox.get_nowait()
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 100 == 0:
                        log.warning("the daemon falls behind the radio: %d frames dropped", self.dropped)

    def _routing(self, request_id: int, reason: str) -> None:
        with self._lock:
            out = self._sent.pop(request_id, None)
        if out is None or reason == "NONE":
            return  # an ACK, or about a packet we did not send
        length = len(out.frame)
        if reason == "DUTY_CYCLE_LIMIT":
            now = time.monotonic()
            if now - self._last_duty_nak > DUTY_PAUSE_MAX_S:
                self._duty_naks = 0
            self._last_duty_nak = now
            pause = min(DUTY_PAUSE_MIN_S * 2**self._duty_naks, DUTY_PAUSE_MAX_S)
            self._duty_naks += 1
            self._paused_until = max(self._paused_until, now + pause)
            log.warning("radio refused a %d-byte packet: duty cycle limit; pausing sending for %.0f s", length, pause)
        elif reason == "TOO_LARGE":
            log.error("radio refused a %d-byte packet as too large; dropped", length)
        elif reason == "MAX_RETRANSMIT":
            # want_ack: no repeater was heard relaying it after the firmware's tries.  Not
            # lost: the store holds it, and the summaries' repair brings it across.
            log.info("no repeater was heard relaying a %d-byte packet; the sync's repair takes over", length)
        else:
            log.warning("radio refused a %d-byte packet: %s", length, reason)

    def _on_notification(self, notification: Any, interface: Any) -> None:
        if interface is not self._iface:
            return
        try:
            match = SEND_AGAIN_RE.search(str(getattr(notification, "message", "")))
            if match:  # the firmware knows when its rolling hour has room again
                self._paused_until = max(self._paused_until, time.monotonic() + 60.0 * int(match.group(1)))
        except Exception as exc:
            log.error("could not handle a notification from the radio: %s", _describe(exc))

    def _on_lost(self, interface: Any) -> None:
        if interface is self._iface:
            self._lost.set()


def heard_of(packet: dict[str, Any], payload: bytes) -> Heard:
    """A received packet's frame and how it came, from the library's packet dict."""
    hop_start = min(_field(packet, "hopStart"), MAX_HOPS)
    hop_limit = min(_field(packet, "hopLimit"), MAX_HOPS)  # absent when 0: the packet used up its hops
    hops = max(0, hop_start - hop_limit) if hop_start > 0 else 0  # no hopStart: firmware before 2.3
    relay_node = _field(packet, "relayNode")
    return Heard(payload, hops, hop_start, relay_node & 0xFF if relay_node else None)


def _field(packet: dict[str, Any], key: str) -> int:
    """An integer field of a MessageToDict packet: 0 when absent (proto3 leaves zeros out) or not a number."""
    value = packet.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _node_name(iface: Any) -> str:
    try:
        return f"!{iface.myInfo.my_node_num:08x}"
    except (AttributeError, TypeError):
        return "?"
