"""The range coder and the PPM text model: round trips, hostile input, the shipped model."""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.core.rangecoder import MAX_TOTAL, RangeDecoder, RangeEncoder
from relay.core.textmodel import END, TextModel, train
from relay.core.wire import Dictionary
from relay.edge import dictionaries as registry
from relay.edge.dictionaries import model_path
from relay.errors import DecodeError
from tests.helpers import DICTIONARY_NAME

# SHA-256 of relay/data/dictionaries/nb-krise-1.model (= TextModel.digest()).  Dictionary id 1 is
# forever: if this changes, every message ever sent with id 1 decodes to garbage.
SHIPPED_DIGEST = "2877083c85961013ca6f2672fba9f91ac8b86b23bbc353fd74fcae64cbe1aac4"
TRAINING_CORPUS = Path(__file__).resolve().parents[1] / "tools" / "dictionary-corpus"

# --- range coder -----------------------------------------------------------------

Table = list[int]


def cumulative(freqs: Table) -> list[int]:
    cum = [0]
    for f in freqs:
        cum.append(cum[-1] + f)
    return cum


def range_encode(tables: list[Table], symbols: list[tuple[int, int]]) -> bytes:
    enc = RangeEncoder()
    for t, s in symbols:
        cum = cumulative(tables[t])
        enc.encode(cum[s], tables[t][s], cum[-1])
    return enc.finish()


def range_decode(data: bytes, tables: list[Table], which: list[int]) -> tuple[list[tuple[int, int]], RangeDecoder]:
    dec = RangeDecoder(data)
    out = []
    for t in which:
        cum = cumulative(tables[t])
        target = dec.target(cum[-1])
        s = bisect.bisect_right(cum, target) - 1
        dec.consume(cum[s], tables[t][s])
        out.append((t, s))
    return out, dec


freq_tables = st.one_of(
    st.lists(st.integers(1, 1000), min_size=1, max_size=64),  # PPM-like: many small counts
    st.lists(st.integers(1, MAX_TOTAL // 4), min_size=1, max_size=4),  # few large counts, total up to MAX_TOTAL
    st.integers(1, MAX_TOTAL - 1).map(lambda n: [n, MAX_TOTAL - n]),  # total exactly MAX_TOTAL
    st.sampled_from([[1], [1, MAX_TOTAL - 1], [MAX_TOTAL - 1, 1], [1] * 17, [1] * 256]),
)


@st.composite
def coded_sequences(draw: st.DrawFn) -> tuple[list[Table], list[tuple[int, int]]]:
    """Several tables (as PPM switches contexts) and symbols, often the first (start 0)."""
    tables = draw(st.lists(freq_tables, min_size=1, max_size=4))
    raw = draw(st.lists(st.tuples(st.integers(0, 3), st.one_of(st.just(0), st.integers(0, 1 << 16))), max_size=200))
    return tables, [(t % len(tables), s % len(tables[t % len(tables)])) for t, s in raw]


def information_bits(tables: list[Table], symbols: list[tuple[int, int]]) -> float:
    return sum(-math.log2(tables[t][s] / sum(tables[t])) for t, s in symbols)


@given(coded=coded_sequences())
def test_range_coder_round_trip(coded: tuple[list[Table], list[tuple[int, int]]]) -> None:
    tables, symbols = coded
    assert all(sum(t) <= MAX_TOTAL for t in tables)
    data = range_encode(tables, symbols)
    which = [t for t, _ in symbols]
    assert range_decode(data, tables, which)[0] == symbols
    # Trailing zeros are trimmed, and the decoder reads zeros past the end, so
    # putting any of them back changes nothing.
    assert not data.endswith(b"\x00")
    assert range_decode(data + bytes(9), tables, which)[0] == symbols
    # Within a few bytes of the information content (32-bit precision costs < 0.006 bit a symbol).
    assert len(data) <= math.ceil((information_bits(tables, symbols) + 0.006 * len(symbols)) / 8) + 2


def test_range_coder_empty_and_all_zero_streams() -> None:
    assert RangeEncoder().finish() == b""
    # Always the first symbol: the code value stays 0 and every byte is trimmed.
    symbols = [(0, 0)] * 50
    assert range_encode([[1, 1000]], symbols) == b""
    assert range_decode(b"", [[1, 1000]], [0] * 50)[0] == symbols


@given(data=st.binary(max_size=32), totals=st.lists(st.integers(1, MAX_TOTAL), max_size=50))
def test_range_decoder_targets_stay_in_range_on_any_input(data: bytes, totals: list[int]) -> None:
    dec = RangeDecoder(data)
    for total in totals:
        target = dec.target(total)
        assert 0 <= target < total
        dec.consume(target, 1)


# --- the text model ----------------------------------------------------------------

# Any code point a str can carry through UTF-8 (no lone surrogates) except END,
# which terminates a text: unseen letters, controls, private use, astral planes.
model_chars = st.characters(exclude_categories=["Cs"], exclude_characters=END)
norsk = st.sampled_from(
    [
        "Strømbrudd i Vikersund.",
        "Behov: 2 personer med IKT-kompetanse.",
        "Neste rapport kl 18:00.",
        "Ærlig talt, Øvre Eiker og Åsa.",
        "Situasjon:\nFlom ved Hønefoss bru, 3,1 m over normal vannstand.",
    ]
)
texts_strategy = st.lists(
    st.one_of(norsk, st.text(alphabet=model_chars, max_size=60), st.text(alphabet="æøåÆØÅ \n.:0123456789")),
    max_size=5,
)


@pytest.fixture(scope="session")
def model(dictionary: Dictionary) -> TextModel:
    return dictionary.model


def round_trip(model: TextModel, texts: list[str]) -> None:
    data = model.encode(texts)
    total = sum(len(t) for t in texts)
    assert model.decode(data, len(texts), total) == texts
    if total:
        with pytest.raises(DecodeError) as info:
            model.decode(data, len(texts), total - 1)
        assert info.value.reason == "too_long"


@given(texts=texts_strategy)
def test_text_model_round_trip(model: TextModel, texts: list[str]) -> None:
    round_trip(model, texts)


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [""],
        ["", "", ""],
        ["Strømmen er tilbake i Vikersund sentrum."],
        ["𝔄𝔅ℭ", "🚒 brann i 🏠", "中文字符", "Ꙃ", "\U0010fffd", "\U000e0001"],  # astral and never-trained
        ["kontroll \x01\x7f og privat \ue000"],
        ["a" * 500],
        ["ø" * 200, "å" * 200],
    ],
    ids=["none", "one-empty", "three-empty", "norsk", "unseen-and-astral", "controls", "long-run", "two-long"],
)
def test_text_model_round_trip_examples(model: TextModel, texts: list[str]) -> None:
    round_trip(model, texts)


def test_norwegian_text_compresses(model: TextModel) -> None:
    text = "SITREP nr 3 Ringerike kommune. Situasjon: Storelva stiger fortsatt. Behov: 6 mannskaper og 2 lenser."
    assert len(model.encode([text])) * 8 <= 3.5 * len(text)


def test_no_texts_means_no_stream(model: TextModel) -> None:
    assert model.encode([]) == b""
    assert model.decode(b"", 0, 0) == []
    with pytest.raises(DecodeError) as info:
        model.decode(b"\x01", 0, 100)
    assert info.value.reason == "malformed"


@given(data=st.binary(max_size=64), count=st.integers(0, 6), max_chars=st.integers(0, 300))
def test_decode_of_arbitrary_bytes_is_bounded(model: TextModel, data: bytes, count: int, max_chars: int) -> None:
    try:
        texts = model.decode(data, count, max_chars)
    except DecodeError:
        return
    except Exception as exc:  # any other type breaks the decoding invariant
        pytest.fail(f"TextModel.decode raised {type(exc).__name__}: {exc!r} on {data.hex()}")
    assert len(texts) == count
    assert sum(len(t) for t in texts) <= max_chars
    assert all(END not in t for t in texts)
    assert all(t.encode("utf-8") for t in texts)  # no lone surrogates


def test_decode_budget_bounds_work_on_endless_zeros(model: TextModel) -> None:
    """Zeros past the end decode to something forever; max_chars must stop it."""
    for data in (b"", b"\xff" * 8, b"\x80"):
        try:
            texts = model.decode(data, 1, 2000)
        except DecodeError:
            continue
        assert sum(len(t) for t in texts) <= 2000


# --- trained models and serialisation ----------------------------------------------

small_alphabet = st.text(alphabet="abcæøå .\n", max_size=30)


@given(
    training=st.lists(small_alphabet, min_size=1, max_size=8),
    order=st.integers(0, 3),
    min_context=st.integers(1, 3),
    texts=st.lists(st.one_of(small_alphabet, st.text(alphabet=model_chars, max_size=10)), max_size=4),
)
def test_trained_model_round_trips_and_serialises(
    training: list[str], order: int, min_context: int, texts: list[str]
) -> None:
    model = train(training, order, min_context)
    round_trip(model, texts)
    blob = model.to_bytes()
    again = TextModel.from_bytes(blob)
    assert again.order == model.order
    assert again.context_count == model.context_count
    assert again.to_bytes() == blob
    assert again.digest() == model.digest() == hashlib.sha256(blob).hexdigest()
    assert again.encode(texts) == model.encode(texts)


def test_shipped_model_digest_is_stable_across_load(model: TextModel) -> None:
    blob = model_path(DICTIONARY_NAME).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == SHIPPED_DIGEST
    assert model.digest() == SHIPPED_DIGEST
    reloaded = TextModel.from_bytes(model.to_bytes())
    assert reloaded.to_bytes() == blob
    assert reloaded.digest() == SHIPPED_DIGEST


def test_registry_pins_the_shipped_model() -> None:
    name, digest = registry.REGISTRY[1]
    assert name == DICTIONARY_NAME
    if digest == "PLACEHOLDER":
        pytest.skip("the registry digest has not been filled in yet")
    assert digest == SHIPPED_DIGEST
    assert registry.load(1).model.digest() == SHIPPED_DIGEST


def test_shipped_model_rebuilds_from_its_training_corpus() -> None:
    """tools/build_dictionary.py's recipe (order 4, min context 2) reproduces the file bit for bit."""
    if not TRAINING_CORPUS.is_dir():
        pytest.skip("no training corpus in this checkout")
    texts: list[str] = []
    for path in sorted(TRAINING_CORPUS.glob("*.txt")):
        parts = re.split(r"^---\s*$", path.read_text(encoding="utf-8"), flags=re.M)
        texts.extend(p.strip() for p in parts if p.strip())
    assert train(texts, 4, 2).digest() == SHIPPED_DIGEST


def test_from_bytes_rejects_other_data() -> None:
    with pytest.raises(ValueError, match="not a relay text model"):
        TextModel.from_bytes(zlib.compress(b"RLYTXT0\n something else"))


def test_model_needs_end_in_order_zero() -> None:
    with pytest.raises(ValueError):
        TextModel(0, {})


# --- regression: found by these tests and fixed in relay/ ------------------------------


@pytest.mark.parametrize("texts", [["8:00."], ["control \x01\x7f and private use \ue000"]])
def test_stream_needing_many_implied_zero_bytes_decodes(model: TextModel, texts: list[str]) -> None:
    """Was 'truncated': RangeEncoder.finish trims every trailing zero byte, the decoder allowed for 4."""
    data = model.encode(texts)
    assert model.decode(data, len(texts), 100) == texts
    assert model.decode(data + bytes(8), len(texts), 100) == texts
