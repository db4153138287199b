"""The compression dictionary for free text: a static PPM character model.

A preset zlib dictionary only lets deflate copy phrases it has seen; every
other character still costs 8-9 bits.  On short Norwegian messages a static
context model does much better: it is trained on representative crisis text
(see ``tools/build_dictionary.py``) and predicts each character from the
``order`` characters before it, escaping to shorter contexts (PPM method C with
exclusion) and finally to a raw code point.  Range coding turns the
predictions into about 2.5-3 bits per character on text the model never saw.

The model is the versioned "dictionary" of the wire format: a message names
its dictionary id, and a receiver without that exact model rejects it.

Every field's text ends with ``END``; decoding is bounded by ``max_chars``.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from relay.core.rangecoder import MAX_TOTAL, RangeDecoder, RangeEncoder
from relay.errors import DecodeError

END = "\x00"
MAX_CODE_POINT = 0x10FFFF
MAGIC = b"RLYTXT1\n"
MAX_MODEL_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Context:
    symbols: str  # sorted
    counts: tuple[int, ...]
    cum: tuple[int, ...]  # cum[i] = sum(counts[:i]); len = len(counts) + 1
    escape: int
    index: dict[str, int]

    @classmethod
    def build(cls, symbols: str, counts: Sequence[int], escape: int) -> _Context:
        cum = [0]
        for n in counts:
            cum.append(cum[-1] + n)
        return cls(symbols, tuple(counts), tuple(cum), escape, {s: i for i, s in enumerate(symbols)})

    @property
    def total(self) -> int:
        return self.cum[-1] + self.escape


class TextModel:
    """A trained, immutable character model of order ``order``."""

    def __init__(self, order: int, contexts: dict[str, _Context]) -> None:
        if "" not in contexts or END not in contexts[""].index:
            raise ValueError("a text model needs an order-0 context containing END")
        self.order = order
        self._contexts = contexts

    @property
    def context_count(self) -> int:
        return len(self._contexts)

    # --- coding -----------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> bytes:
        """Encode several texts, each ended by END, as one range-coded stream."""
        if not texts:
            return b""
        enc = RangeEncoder()
        history = END * self.order
        for text in texts:
            for ch in text + END:
                self._encode_symbol(enc, history, ch)
                history = (history + ch)[-self.order :] if self.order else ""
        return enc.finish()

    def decode(self, data: bytes, count: int, max_chars: int) -> list[str]:
        """Decode ``count`` texts from ``data``; raise DecodeError on anything else."""
        if count == 0:
            if data:
                raise DecodeError("text stream where none was expected", "malformed")
            return []
        dec = RangeDecoder(data)
        history = END * self.order
        texts: list[str] = []
        current: list[str] = []
        budget = max_chars
        while len(texts) < count:
            ch = self._decode_symbol(dec, history)
            history = (history + ch)[-self.order :] if self.order else ""
            if ch == END:
                texts.append("".join(current))
                current = []
                continue
            budget -= 1
            if budget < 0:
                raise DecodeError(f"text longer than {max_chars} characters", "too_long")
            current.append(ch)
        # No "ran past the end" check: the encoder drops every trailing zero byte,
        # so reading zeros past the end is normal.  Truncation shows up in the
        # caller's canonical re-encoding check instead.
        return texts

    def _contexts_for(self, history: str) -> Iterable[_Context]:
        for k in range(self.order, -1, -1):
            ctx = self._contexts.get(history[len(history) - k :] if k else "")
            if ctx is not None:
                yield ctx

    def _encode_symbol(self, enc: RangeEncoder, history: str, ch: str) -> None:
        excluded: set[str] = set()
        for ctx in self._contexts_for(history):
            if not excluded:
                i = ctx.index.get(ch)
                if i is not None:
                    enc.encode(ctx.cum[i], ctx.counts[i], ctx.total)
                    return
                enc.encode(ctx.cum[-1], ctx.escape, ctx.total)
            else:
                symbols, counts = _without(ctx, excluded)
                if not symbols:
                    continue
                total = sum(counts) + ctx.escape
                if ch in symbols:
                    i = symbols.index(ch)
                    enc.encode(sum(counts[:i]), counts[i], total)
                    return
                enc.encode(total - ctx.escape, ctx.escape, total)
            excluded.update(ctx.symbols)
        code = ord(ch)
        enc.encode(code >> 16, 1, 17)
        enc.encode(code & 0xFFFF, 1, 1 << 16)

    def _decode_symbol(self, dec: RangeDecoder, history: str) -> str:
        excluded: set[str] = set()
        for ctx in self._contexts_for(history):
            symbols: str
            counts: Sequence[int]
            cum: Sequence[int]
            if not excluded:
                symbols, counts, cum = ctx.symbols, ctx.counts, ctx.cum
            else:
                symbols, counts = _without(ctx, excluded)
                if not symbols:
                    continue
                cum = _cumulative(counts)
            total = cum[-1] + ctx.escape
            target = dec.target(total)
            if target >= cum[-1]:
                dec.consume(cum[-1], ctx.escape)
                excluded.update(ctx.symbols)
                continue
            i = bisect.bisect_right(cum, target) - 1
            dec.consume(cum[i], counts[i])
            return symbols[i]
        high = dec.target(17)
        dec.consume(high, 1)
        low = dec.target(1 << 16)
        dec.consume(low, 1)
        code = (high << 16) | low
        if code > MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
            raise DecodeError("invalid character in text", "malformed")
        return chr(code)

    # --- serialisation -------------------------------------------------------

    def to_bytes(self) -> bytes:
        parts = [MAGIC, struct.pack(">BI", self.order, len(self._contexts))]
        for key in sorted(self._contexts):
            ctx = self._contexts[key]
            k = key.encode("utf-8")
            s = ctx.symbols.encode("utf-8")
            parts.append(struct.pack(">HHHH", len(k), len(s), len(ctx.counts), ctx.escape))
            parts.append(k + s + struct.pack(f">{len(ctx.counts)}H", *ctx.counts))
        return zlib.compress(b"".join(parts), 9)

    @classmethod
    def from_bytes(cls, blob: bytes) -> TextModel:
        d = zlib.decompressobj()
        raw = d.decompress(blob, MAX_MODEL_BYTES)
        if d.unconsumed_tail or not raw.startswith(MAGIC):
            raise ValueError("not a relay text model")
        pos = len(MAGIC)
        order, n = struct.unpack_from(">BI", raw, pos)
        pos += 5
        contexts: dict[str, _Context] = {}
        for _ in range(n):
            klen, slen, ncounts, escape = struct.unpack_from(">HHHH", raw, pos)
            pos += 8
            key = raw[pos : pos + klen].decode("utf-8")
            pos += klen
            symbols = raw[pos : pos + slen].decode("utf-8")
            pos += slen
            counts = struct.unpack_from(f">{ncounts}H", raw, pos)
            pos += 2 * ncounts
            contexts[key] = _Context.build(symbols, counts, escape)
        return cls(order, contexts)

    def digest(self) -> str:
        """SHA-256 of the serialised model: pins a dictionary id to its content."""
        return hashlib.sha256(self.to_bytes()).hexdigest()


def _without(ctx: _Context, excluded: set[str]) -> tuple[str, list[int]]:
    symbols = []
    counts = []
    for s, n in zip(ctx.symbols, ctx.counts, strict=True):
        if s not in excluded:
            symbols.append(s)
            counts.append(n)
    return "".join(symbols), counts


def _cumulative(counts: Sequence[int]) -> list[int]:
    cum = [0]
    for n in counts:
        cum.append(cum[-1] + n)
    return cum


def train(texts: Iterable[str], order: int, min_context_total: int = 2) -> TextModel:
    """Count characters after each context of length 0..order in ``texts``.

    Contexts seen fewer than ``min_context_total`` times are dropped (they
    would only memorise); the escape frequency is the number of distinct
    symbols seen (PPM method C); counts are scaled so each context's total fits
    the range coder.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        history = END * order
        for ch in text + END:
            for k in range(order + 1):
                counts[history[len(history) - k :] if k else ""][ch] += 1
            history = (history + ch)[-order:] if order else ""
    counts[""][END] += 1
    contexts: dict[str, _Context] = {}
    for key, counter in counts.items():
        total = sum(counter.values())
        if key and total < min_context_total:
            continue
        contexts[key] = _scaled(counter)
    return TextModel(order, contexts)


def _scaled(counter: Counter[str]) -> _Context:
    symbols = "".join(sorted(counter))
    raw = [counter[s] for s in symbols]
    escape = len(symbols)
    limit = MAX_TOTAL // 4  # headroom: the coder divides its range by the total
    total = sum(raw) + escape
    if total > limit:
        factor = limit / total
        raw = [max(1, int(n * factor)) for n in raw]
        escape = max(1, int(escape * factor))
    return _Context.build(symbols, raw, escape)
