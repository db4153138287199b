"""A node id on the air: 3 bits of length, then 6 bits a character (MOD: 21 bits).

Both air frames (``relay.core.frames``: summaries, requests) and signed
messages (``relay.core.wire``: addressees, references) name nodes this way.
"""

from __future__ import annotations

from relay.core.bits import BitReader, BitWriter
from relay.core.model import NODE_ID_RE
from relay.errors import DecodeError

NODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def write_node(w: BitWriter, node: str) -> None:
    """A node id in 3 bits of length and 6 bits a character (MOD: 21 bits)."""
    w.write(len(node) - 1, 3)
    for ch in node:
        w.write(NODE_CHARS.index(ch), 6)


def read_node(r: BitReader) -> str:
    length = r.read(3) + 1
    chars = []
    for _ in range(length):
        index = r.read(6)
        if index >= len(NODE_CHARS):
            raise DecodeError("invalid node id", "malformed")
        chars.append(NODE_CHARS[index])
    node = "".join(chars)
    if not NODE_ID_RE.match(node):
        raise DecodeError("invalid node id", "malformed")
    return node
