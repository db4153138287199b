"""Bit-level writer and reader for the compact message header.

Integers that are usually small use Exp-Golomb codes of order ``k``: a value
below 2**k costs k+1 bits, and each doubling beyond that costs two more.
"""

from __future__ import annotations

from relay.errors import DecodeError

MAX_GOLOMB_PREFIX = 40  # bounds decoding of hostile input; covers every value we write


class BitWriter:
    def __init__(self) -> None:
        self._acc = 0
        self._nbits = 0

    def write(self, value: int, nbits: int) -> None:
        if value < 0 or value >= 1 << nbits:
            raise ValueError(f"{value} does not fit in {nbits} bits")
        self._acc = (self._acc << nbits) | value
        self._nbits += nbits

    def write_bool(self, flag: bool) -> None:
        self.write(1 if flag else 0, 1)

    def write_golomb(self, value: int, k: int) -> None:
        if value < 0:
            raise ValueError("Exp-Golomb codes take non-negative values")
        shifted = value + (1 << k)
        width = shifted.bit_length()
        self.write(0, width - 1 - k)
        self.write(shifted, width)

    def write_signed_golomb(self, value: int, k: int) -> None:
        self.write_golomb(value * 2 if value >= 0 else -value * 2 - 1, k)

    def to_bytes(self) -> bytes:
        """The bits so far, padded with zeros to a whole byte."""
        pad = -self._nbits % 8
        total = self._nbits + pad
        return (self._acc << pad).to_bytes(total // 8, "big")


class BitReader:
    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._total = len(data) * 8
        self._pos = 0

    @property
    def byte_position(self) -> int:
        """Bytes consumed, counting a partly read byte as whole."""
        return (self._pos + 7) // 8

    def read(self, nbits: int) -> int:
        if self._pos + nbits > self._total:
            raise DecodeError("message ends inside its header", "truncated")
        shift = self._total - self._pos - nbits
        self._pos += nbits
        return (self._value >> shift) & ((1 << nbits) - 1)

    def read_bool(self) -> bool:
        return self.read(1) == 1

    def read_golomb(self, k: int) -> int:
        zeros = 0
        while self.read(1) == 0:
            zeros += 1
            if zeros > MAX_GOLOMB_PREFIX:
                raise DecodeError("integer code too long", "malformed")
        rest = self.read(zeros + k)
        return ((1 << (zeros + k)) | rest) - (1 << k)

    def read_signed_golomb(self, k: int) -> int:
        raw = self.read_golomb(k)
        return raw // 2 if raw % 2 == 0 else -(raw + 1) // 2

    def expect_zero_padding(self) -> None:
        pad = -self._pos % 8
        if pad and self.read(pad) != 0:
            raise DecodeError("non-zero padding after header", "non_canonical")
