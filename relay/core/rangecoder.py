"""A 32-bit multi-symbol range coder (carry-propagating, after LZMA's).

Frequencies are integers with ``total <= MAX_TOTAL``.  The encoder ends on the
value inside its final interval that has the most trailing zero bits and drops
trailing zero bytes; the decoder reads zeros past the end of its input, so the
two agree and a message saves the 3-4 flush bytes a plain coder would send.
"""

from __future__ import annotations

TOP = 1 << 24
MASK32 = 0xFFFFFFFF
MAX_TOTAL = 1 << 16


class RangeEncoder:
    def __init__(self) -> None:
        self._low = 0
        self._range = MASK32
        self._cache = 0
        self._cache_size = 1
        self._out = bytearray()

    def encode(self, start: int, size: int, total: int) -> None:
        r = self._range // total
        self._low += start * r
        self._range = size * r
        while self._range < TOP:
            self._range <<= 8
            self._shift_low()

    def _shift_low(self) -> None:
        if (self._low & MASK32) < 0xFF000000 or self._low > MASK32:
            carry = self._low >> 32
            temp = self._cache
            while True:
                self._out.append((temp + carry) & 0xFF)
                temp = 0xFF
                self._cache_size -= 1
                if self._cache_size == 0:
                    break
            self._cache = (self._low >> 24) & 0xFF
        self._cache_size += 1
        self._low = (self._low & 0x00FFFFFF) << 8

    def finish(self) -> bytes:
        high = self._low + self._range - 1
        for bits in range(40, -1, -1):
            mask = (1 << bits) - 1
            value = (self._low + mask) & ~mask
            if value <= high:
                self._low = value
                break
        for _ in range(5):
            self._shift_low()
        # The first byte is always the initial zero cache; trailing zeros are implied.
        return bytes(self._out[1:]).rstrip(b"\x00")


class RangeDecoder:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._range = MASK32
        self._code = 0
        self._r = 1
        for _ in range(4):
            self._code = (self._code << 8) | self._next()

    def _next(self) -> int:
        pos = self._pos
        self._pos += 1
        return self._data[pos] if pos < len(self._data) else 0

    def target(self, total: int) -> int:
        """The cumulative frequency the next symbol covers; call ``consume`` next."""
        self._r = self._range // total
        return min(self._code // self._r, total - 1)

    def consume(self, start: int, size: int) -> None:
        self._code -= start * self._r
        self._range = size * self._r
        while self._range < TOP:
            self._code = ((self._code << 8) | self._next()) & MASK32
            self._range <<= 8
