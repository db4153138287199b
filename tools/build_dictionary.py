#!/usr/bin/env python3
"""Build the text dictionary (a static PPM model) from representative text.

    python tools/build_dictionary.py [--name nb-krise-1] [--order 4] [CORPUS_DIR ...]

Training text: ``tools/dictionary-corpus/*.txt`` (scenarios written for this
project, messages separated by lines of ``---``) plus any folder given.  The
sample corpus in ``../shared/corpus`` and the shipped example messages in
``relay/data/messages`` are deliberately NOT trained on: they are the held-out
sets on which the dictionary is judged, and the script reports its figures on
them.  Never rebuild a released id: register the output under a new id.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relay.core.textmodel import train  # noqa: E402

DEFAULT_CORPUS = ROOT / "tools" / "dictionary-corpus"
HELD_OUT = {
    "examples": ROOT / "relay" / "data" / "messages",
    "shared": ROOT.parent / "shared" / "corpus",
}


def documents(folder: Path) -> list[str]:
    out = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out.extend(p.strip() for p in re.split(r"^---\s*$", text, flags=re.M) if p.strip())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="*", type=Path)
    parser.add_argument("--name", default="nb-krise-1")
    parser.add_argument("--order", type=int, default=4)
    parser.add_argument("--min-context", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "relay" / "data" / "dictionaries")
    args = parser.parse_args()
    texts = documents(DEFAULT_CORPUS)
    for folder in args.corpus:
        texts += documents(folder)
    model = train(texts, args.order, args.min_context)
    blob = model.to_bytes()
    path = args.out / f"{args.name}.model"
    path.write_bytes(blob)
    print(
        f"{path}: {len(blob)} bytes, {model.context_count} contexts, trained on {len(texts)} texts "
        f"({sum(len(t) for t in texts)} chars)"
    )
    print(f"sha256 {hashlib.sha256(blob).hexdigest()}")
    for name, folder in HELD_OUT.items():
        held = documents(folder) if folder.is_dir() else []
        if held:
            ratios = [len(model.encode([t])) / len(t.encode()) for t in held]
            print(f"held-out {name}: {len(held)} texts, median text-stream/UTF-8 ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
