"""One simulated Meshtastic radio as its client sees it: the firmware's phone API.

Sans-IO, after the firmware's ``PhoneAPI`` and ``MeshService``: the server
feeds client bytes into a ``Link`` (one per TCP connection or serial port) and
writes out what ``Link.data_to_send`` returns; the radio behind it is the
shared medium, reached through the ``Radio`` protocol.  Time comes in as
``now`` (medium seconds).  Nothing here touches a socket or a clock.

What the client sees, as from firmware 2.7:

* ``want_config_id``: my_info, our node_info, metadata, 8 channels (0 PRIMARY),
  config.device and config.lora, every other scenario node's node_info, then
  ``config_complete_id`` = the nonce.  69420 skips the other nodes, 69421
  sends only node infos (``SPECIAL_NONCE_ONLY_CONFIG`` / ``_ONLY_NODES``).
* a ``packet``: handed to the radio at its ``priority`` (UNSET becomes
  DEFAULT, or RELIABLE with want_ack, as ``fixPriority`` does), answered by
  ``queueStatus{res, free, maxlen, mesh_packet_id}``.  Accepted with want_ack: an ACK (Routing NONE,
  from and to our own node, request_id = the packet id) one time-on-air later,
  standing in for the implicit ACK the firmware gives when it hears a
  neighbour rebroadcast; the medium retransmits a want_ack broadcast until it
  hears it relayed, as ``ReliableRouter`` does (``relay.core.radioqueue``).  Refused for duty cycle or size: a NAK
  (DUTY_CYCLE_LIMIT / TOO_LARGE) whether or not want_ack was set, as
  ``Router::abortSendAndNak`` does; duty cycle also brings a clientNotification.
  A full transmit queue with nothing of lower priority to evict is
  ``res = ERRNO_UNKNOWN`` and nothing else (``MeshService::sendToMesh``).
* packets heard on the air go to the most recently configured link; with no
  client configured they wait in a 32-packet to-phone queue.  They carry
  ``hop_start`` (the sender's hop limit), ``hop_limit`` (what the repeaters left
  of it) and ``relay_node`` (the last byte of the radio heard), as from 2.6.  A
  ``radio_only`` node (ROUTER) relays and hands its client nothing.
* ``heartbeat`` is ignored; ``disconnect`` stops traffic to that link.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from meshtastic.protobuf import channel_pb2, config_pb2, mesh_pb2, portnums_pb2

from relay.core.radioqueue import fixed_priority
from relay.hwsim.stream import Frame, FrameDecoder, encode_frame
from relay.sim.medium import RADIO_QUEUE, SendResult
from relay.sim.scenario import NodeSpec

MeshPacket = Any  # meshtastic.protobuf.mesh_pb2.MeshPacket (the library ships no type information)
FromRadio = Any

BROADCAST_NUM = 0xFFFFFFFF
RESERVED_NUMS = 4  # firmware NUM_RESERVED: node numbers 0..3 are never assigned
MAX_HOP_LIMIT = 7
TO_PHONE_QUEUE = 32  # firmware MAX_RX_TOPHONE
CHANNELS = 8
ONLY_CONFIG_NONCE = 69420
ONLY_NODES_NONCE = 69421
FIRMWARE_VERSION = "2.7.15.hwsim"
MIN_APP_VERSION = 30200

# QueueStatus.res carries the firmware's ErrorCode, which for refusals is the Routing.Error value.
ERRNO_OK = 0
ERRNO_UNKNOWN = 32
ERRNO_SHOULD_RELEASE = 35
ROUTING_ERROR = {
    SendResult.DUTY_CYCLE_LIMIT: mesh_pb2.Routing.Error.DUTY_CYCLE_LIMIT,
    SendResult.TOO_LARGE: mesh_pb2.Routing.Error.TOO_LARGE,
}


def node_num(node_id: str) -> int:
    """A stable 32-bit Meshtastic node number for a scenario node id.

    The first 4-byte window of SHA-256(node id) that is neither reserved
    (0..3) nor the broadcast address.
    """
    digest = hashlib.sha256(node_id.encode()).digest()
    for i in range(0, len(digest), 4):
        num = int.from_bytes(digest[i : i + 4], "big")
        if RESERVED_NUMS <= num < BROADCAST_NUM:
            return num
    raise AssertionError("unreachable: eight reserved windows in one SHA-256")  # pragma: no cover


def _clip_utf8(text: str, max_bytes: int) -> str:
    return text.encode()[:max_bytes].decode(errors="ignore")


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """How a scenario node appears in every simulated radio's node database."""

    node_id: str
    num: int
    long_name: str
    router: bool = False
    muted: bool = False  # CLIENT_MUTE: never rebroadcasts (the scenario's town_hall_role)

    @classmethod
    def of(cls, spec: NodeSpec, muted: bool = False) -> NodeIdentity:
        return cls(spec.id, node_num(spec.id), spec.name, spec.radio_only, muted and not spec.radio_only)

    @property
    def user_id(self) -> str:
        return f"!{self.num:08x}"

    @property
    def short_name(self) -> str:
        return self.node_id[:4]  # the firmware keeps at most 4 characters

    def node_info(self) -> Any:
        user = mesh_pb2.User(
            id=self.user_id,
            long_name=_clip_utf8(self.long_name, 39),
            short_name=self.short_name,
            hw_model=mesh_pb2.HardwareModel.PORTDUINO,
            role=self.role,
        )
        return mesh_pb2.NodeInfo(num=self.num, user=user)

    @property
    def role(self) -> int:
        roles = config_pb2.Config.DeviceConfig.Role
        return int(roles.ROUTER if self.router else roles.CLIENT_MUTE if self.muted else roles.CLIENT)


@dataclass(frozen=True, slots=True)
class LoraSettings:
    preset: str  # relay.core.airtime preset name, which is also the ModemPreset name
    hop_limit: int


class Radio(Protocol):
    """The radio behind the phone API: the shared medium as one node sees it."""

    def transmit(self, packet: MeshPacket, now: float, want_ack: bool = False) -> SendResult: ...

    def queue_free(self) -> int: ...

    def airtime(self, payload_len: int) -> float: ...


class LinkState(Enum):
    IDLE = "IDLE"  # open, but no config handshake yet (or the client said disconnect)
    CONNECTED = "CONNECTED"  # handshake done: packets flow
    CLOSED = "CLOSED"  # connection gone or device unplugged


class LinkEvent(Enum):
    WANT_CONFIG = "WANT_CONFIG"
    DISCONNECT = "DISCONNECT"
    CLOSE = "CLOSE"


# Every state change of a link.  A pair not listed leaves the state as it is.
LINK_TRANSITIONS: dict[tuple[LinkState, LinkEvent], LinkState] = {
    (LinkState.IDLE, LinkEvent.WANT_CONFIG): LinkState.CONNECTED,
    (LinkState.CONNECTED, LinkEvent.WANT_CONFIG): LinkState.CONNECTED,  # handshake restarts
    (LinkState.CONNECTED, LinkEvent.DISCONNECT): LinkState.IDLE,
    (LinkState.IDLE, LinkEvent.CLOSE): LinkState.CLOSED,
    (LinkState.CONNECTED, LinkEvent.CLOSE): LinkState.CLOSED,
}


class Link:
    """One client connection to a device (a TCP connection or the serial port)."""

    def __init__(self, device: Device) -> None:
        self._device = device
        self._decoder = FrameDecoder()
        self._out = bytearray()
        self.state = LinkState.IDLE

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the client.  Text outside frames (the client's wake-up bytes) is ignored."""
        for event in self._decoder.feed(data):
            if isinstance(event, Frame):
                self._device.handle_to_radio(self, event.payload, now)

    def data_to_send(self) -> bytes:
        """Bytes for the client, and forget them."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def send(self, message: FromRadio) -> None:
        if self.state is not LinkState.CLOSED:
            self._out += encode_frame(message.SerializeToString())

    def apply(self, event: LinkEvent) -> None:
        self.state = LINK_TRANSITIONS.get((self.state, event), self.state)


class Device:
    """The phone-API side of one simulated radio."""

    def __init__(
        self,
        me: NodeIdentity,
        nodes: Sequence[NodeIdentity],
        lora: LoraSettings,
        radio: Radio,
        rng: random.Random,
    ) -> None:
        self.me = me
        self.others = [n for n in nodes if n.num != me.num]
        self.lora = lora
        self.radio = radio
        self.rng = rng
        self.plugged = True
        self.links: list[Link] = []  # the last CONNECTED one gets the packets
        self._to_phone: deque[FromRadio] = deque()
        self._timers: list[tuple[float, int, FromRadio]] = []
        self._order = itertools.count()
        self._from_radio_ids = itertools.count(1)
        self._rolling_id = rng.getrandbits(10)
        self._last_free = RADIO_QUEUE

    # --- connections -----------------------------------------------------------

    def open_link(self) -> Link:
        link = Link(self)
        self.links.append(link)
        return link

    def close_link(self, link: Link) -> None:
        link.apply(LinkEvent.CLOSE)
        if link in self.links:
            self.links.remove(link)

    def unplug(self) -> None:
        for link in list(self.links):
            self.close_link(link)
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    @property
    def active_link(self) -> Link | None:
        connected = [link for link in self.links if link.state is LinkState.CONNECTED]
        return connected[-1] if connected else None

    # --- from the client ---------------------------------------------------------

    def handle_to_radio(self, link: Link, payload: bytes, now: float) -> None:
        message = mesh_pb2.ToRadio()
        try:
            message.ParseFromString(payload)
        except DecodeError:
            return  # the firmware logs "ignore malformed toradio" and carries on
        variant = message.WhichOneof("payload_variant")
        if variant == "want_config_id":
            self._handshake(link, int(message.want_config_id))
        elif variant == "packet":
            self._handle_packet(link, message.packet, now)
        elif variant == "disconnect":
            link.apply(LinkEvent.DISCONNECT)
        # heartbeat, xmodem and MQTT proxy messages: nothing to do

    def _handshake(self, link: Link, nonce: int) -> None:
        full = nonce != ONLY_NODES_NONCE
        if full:
            link.send(self._from_radio(my_info=self._my_info()))
        link.send(self._from_radio(node_info=self.me.node_info()))
        if full:
            link.send(self._from_radio(metadata=self._metadata()))
            for channel in self._channels():
                link.send(self._from_radio(channel=channel))
            link.send(self._from_radio(config=config_pb2.Config(device=self._device_config())))
            link.send(self._from_radio(config=config_pb2.Config(lora=self._lora_config())))
        if nonce != ONLY_CONFIG_NONCE:
            for node in self.others:
                link.send(self._from_radio(node_info=node.node_info()))
        link.send(self._from_radio(config_complete_id=nonce))
        link.apply(LinkEvent.WANT_CONFIG)
        self.links.remove(link)
        self.links.append(link)  # the newest configured client gets the packets
        while self._to_phone:
            link.send(self._to_phone.popleft())

    def _handle_packet(self, link: Link, packet: MeshPacket, now: float) -> None:
        setattr(packet, "from", self.me.num)  # the firmware never lets a client choose `from`
        if packet.id == 0:
            packet.id = self._new_packet_id()
        client_wants_ack = bool(packet.want_ack)
        if packet.to == self.me.num:
            self._queue_status(link, ERRNO_SHOULD_RELEASE, packet.id)
            if client_wants_ack:
                self._to_client(self._routing(packet, mesh_pb2.Routing.Error.NONE))
            return
        if not packet.HasField("decoded"):
            # Only decoded packets come from a client; a pre-encrypted one would need the channel key.
            self._queue_status(link, int(mesh_pb2.Routing.Error.BAD_REQUEST), packet.id)
            self._to_client(self._routing(packet, mesh_pb2.Routing.Error.BAD_REQUEST))
            return
        if client_wants_ack and packet.hop_limit == 0:
            packet.hop_limit = self.lora.hop_limit  # Router::sendLocal: an ACK needs at least one relay
        packet.hop_limit = min(packet.hop_limit, MAX_HOP_LIMIT)
        packet.hop_start = packet.hop_limit
        packet.priority = fixed_priority(packet.priority, client_wants_ack)  # its place in the transmit queue
        if packet.to == BROADCAST_NUM:
            packet.want_ack = False  # never set on a broadcast on the air
        result = self.radio.transmit(packet, now, client_wants_ack and packet.to == BROADCAST_NUM)
        if result is SendResult.QUEUED:
            self._queue_status(link, ERRNO_OK, packet.id)
            if client_wants_ack:
                ack = self._routing(packet, mesh_pb2.Routing.Error.NONE)
                self._at(now + self.radio.airtime(len(packet.decoded.payload)), ack)
        elif result is SendResult.QUEUE_FULL:
            self._queue_status(link, ERRNO_UNKNOWN, packet.id)  # RadioInterface drops it silently
        else:
            error = ROUTING_ERROR[result]
            self._queue_status(link, int(error), packet.id)
            if result is SendResult.DUTY_CYCLE_LIMIT:
                self._to_client(self._duty_cycle_notification(packet.id))
            self._to_client(self._routing(packet, error))

    # --- from the air and the clock ------------------------------------------------

    def hear(self, packet: MeshPacket) -> None:
        """A packet our radio received, as ``received_packet`` built it."""
        if not self.plugged or packet.to not in (BROADCAST_NUM, self.me.num):
            return  # the firmware hands the client only what is for it
        self._to_client(self._from_radio(packet=packet))

    def tick(self, now: float) -> None:
        """Release what is due at ``now``; tell the client when the transmit queue has room again."""
        while self._timers and self._timers[0][0] <= now:
            _, _, message = heapq.heappop(self._timers)
            self._to_client(message)
        free = self.radio.queue_free()
        if self._last_free == 0 and free > 0:
            link = self.active_link
            if link is not None:
                link.send(self._queue_status_message(ERRNO_OK, 0, free))  # MeshService::loop
        self._last_free = free

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    # --- building messages -----------------------------------------------------------

    def _at(self, t: float, message: FromRadio) -> None:
        heapq.heappush(self._timers, (t, next(self._order), message))

    def _to_client(self, message: FromRadio) -> None:
        link = self.active_link
        if link is not None:
            link.send(message)
            return
        if len(self._to_phone) >= TO_PHONE_QUEUE:
            # MeshService::sendToPhone: text pushes out the oldest, anything else is dropped.
            if message.packet.decoded.portnum != portnums_pb2.PortNum.TEXT_MESSAGE_APP:
                return
            self._to_phone.popleft()
        self._to_phone.append(message)

    def _from_radio(self, **fields: Any) -> FromRadio:
        return mesh_pb2.FromRadio(id=next(self._from_radio_ids), **fields)

    def _queue_status(self, link: Link, res: int, packet_id: int) -> None:
        free = self.radio.queue_free()
        self._last_free = free
        link.send(self._queue_status_message(res, packet_id, free))

    def _queue_status_message(self, res: int, packet_id: int, free: int) -> FromRadio:
        status = mesh_pb2.QueueStatus(res=res, free=free, maxlen=RADIO_QUEUE, mesh_packet_id=packet_id)
        return self._from_radio(queueStatus=status)

    def _routing(self, request: MeshPacket, error: int) -> FromRadio:
        routing = mesh_pb2.Routing()
        routing.error_reason = error  # set even when NONE: it is a oneof, so it is sent
        data = mesh_pb2.Data(
            portnum=portnums_pb2.PortNum.ROUTING_APP, payload=routing.SerializeToString(), request_id=request.id
        )
        packet = mesh_pb2.MeshPacket(
            to=self.me.num,
            id=self._new_packet_id(),
            channel=request.channel,
            priority=mesh_pb2.MeshPacket.Priority.ACK,
            decoded=data,
        )
        setattr(packet, "from", self.me.num)
        return self._from_radio(packet=packet)

    def _duty_cycle_notification(self, packet_id: int) -> FromRadio:
        note = mesh_pb2.ClientNotification(
            reply_id=packet_id,
            level=mesh_pb2.LogRecord.Level.WARNING,
            message="Duty cycle limit exceeded. You can send again later",
        )
        return self._from_radio(clientNotification=note)

    def _new_packet_id(self) -> int:
        # generatePacketId: a rolling 10-bit counter under 22 random bits.
        self._rolling_id = (self._rolling_id + 1) & 0x3FF
        return (self.rng.getrandbits(22) << 10) | self._rolling_id or 1

    def _my_info(self) -> Any:
        return mesh_pb2.MyNodeInfo(
            my_node_num=self.me.num, min_app_version=MIN_APP_VERSION, nodedb_count=len(self.others) + 1
        )

    def _metadata(self) -> Any:
        return mesh_pb2.DeviceMetadata(
            firmware_version=FIRMWARE_VERSION,
            hw_model=mesh_pb2.HardwareModel.PORTDUINO,
            role=self.me.role,
            hasPKC=True,
        )

    def _channels(self) -> list[Any]:
        primary = channel_pb2.Channel(
            index=0,
            role=channel_pb2.Channel.Role.PRIMARY,
            settings=channel_pb2.ChannelSettings(psk=b"\x01"),  # the default key; no name: the preset's
        )
        disabled = [channel_pb2.Channel(index=i, role=channel_pb2.Channel.Role.DISABLED) for i in range(1, CHANNELS)]
        return [primary, *disabled]

    def _device_config(self) -> Any:
        return config_pb2.Config.DeviceConfig(role=self.me.role)

    def _lora_config(self) -> Any:
        lora = config_pb2.Config.LoRaConfig
        return lora(
            use_preset=True,
            modem_preset=lora.ModemPreset.Value(self.lora.preset),
            region=lora.RegionCode.EU_868,
            hop_limit=self.lora.hop_limit,
            tx_enabled=True,
        )


def received_packet(
    sent: MeshPacket, hop_limit: int, hop_start: int, relay_num: int, rx_snr: float, rx_rssi: int, rx_time: int
) -> MeshPacket:
    """The packet a receiving radio hands its client for a packet another radio sent.

    As the firmware hands it over: ``hop_start`` as its first sender set it (a relay
    never touches it), ``hop_limit`` as left when it reached us (each relay took one
    off), so hop_start - hop_limit is the repeaters it crossed; ``relay_node`` the last
    byte of the node number of the radio we heard (its first sender, or the relay)."""
    packet = mesh_pb2.MeshPacket()
    packet.CopyFrom(sent)
    packet.hop_start = hop_start
    packet.hop_limit = hop_limit
    packet.rx_snr = rx_snr
    packet.rx_rssi = rx_rssi
    packet.rx_time = rx_time
    packet.relay_node = relay_num & 0xFF  # the firmware keeps only the last byte
    return packet
