"""Meshtastic stream framing (serial and TCP), pure: no I/O, no protobufs.

Byte budget of one frame::

    1  START1 (0x94)
    1  START2 (0xC3)
    2  payload length, big-endian, at most ``MAX_PAYLOAD`` (512)
    .. payload: a protobuf ``ToRadio`` (client to device) or ``FromRadio``

Every byte a frame does not consume is device log text.  ``FrameDecoder``
takes arbitrary chunks, never raises, and holds at most one unfinished frame
(``MAX_PENDING`` bytes), so garbage can neither crash nor grow it.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.errors import LocalError

START1 = 0x94
START2 = 0xC3
HEADER_LEN = 4
MAX_PAYLOAD = 512  # MAX_TO_FROM_RADIO_SIZE in the firmware and the library
MAX_PENDING = HEADER_LEN + MAX_PAYLOAD - 1  # the longest unfinished frame


@dataclass(frozen=True, slots=True)
class Frame:
    """The payload of one complete frame."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class LogText:
    """Bytes outside any frame (the firmware's debug console), in arrival order."""

    data: bytes


StreamEvent = Frame | LogText


def encode_frame(payload: bytes) -> bytes:
    """Frame one protobuf for the stream."""
    if len(payload) > MAX_PAYLOAD:
        raise LocalError(f"stream frame payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return bytes((START1, START2, len(payload) >> 8, len(payload) & 0xFF)) + payload


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes, get back the frames and log text they complete.

    Resynchronisation is byte by byte: a START1 not followed by START2, or a
    header announcing more than ``MAX_PAYLOAD`` bytes, gives up only its first
    byte (as log text) and the scan resumes at the next one, so a real frame
    right behind a false start is still found.
    """

    def __init__(self) -> None:
        self._pending = b""

    @property
    def pending(self) -> int:
        """Bytes held back as the start of an unfinished frame (at most ``MAX_PENDING``)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[StreamEvent]:
        buf = self._pending + bytes(data)
        events: list[StreamEvent] = []
        log = bytearray()
        pos = 0
        end = len(buf)
        while pos < end:
            start = buf.find(START1, pos)
            if start < 0:
                log += buf[pos:]
                pos = end
                break
            log += buf[pos:start]
            pos = start
            if end - pos < 2:
                break  # a lone START1: wait for the next byte
            if buf[pos + 1] != START2:
                log.append(START1)
                pos += 1
                continue
            if end - pos < HEADER_LEN:
                break
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if length > MAX_PAYLOAD:
                log.append(START1)
                pos += 1
                continue
            if end - pos < HEADER_LEN + length:
                break
            if log:
                events.append(LogText(bytes(log)))
                log.clear()
            events.append(Frame(buf[pos + HEADER_LEN : pos + HEADER_LEN + length]))
            pos += HEADER_LEN + length
        if log:
            events.append(LogText(bytes(log)))
        self._pending = buf[pos:]
        return events

    def reset(self) -> None:
        """Forget any unfinished frame (a new client connection)."""
        self._pending = b""
