"""Wire format 1: golden vectors, round trips, hostile input, verification, validation.

The decoding invariant under test (the error tree of ``relay.errors``): anything handed to
``wire.decode`` returns a verified ``SignedMessage`` or raises ``DecodeError``
(``VerificationError`` is a subclass), never any other exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.core import airtime, frames, wire
from relay.core.airtime import MAX_APP_PAYLOAD
from relay.core.bits import BitWriter
from relay.core.model import (
    MAX_TEXT_CHARS,
    Address,
    Function,
    Kind,
    Level,
    Message,
    MessageRef,
    Priority,
    StatusRow,
)
from relay.core.roster import Revocation, Roster
from relay.core.signing import MESSAGE_CONTEXT, SIGNATURE_BYTES, Signer
from relay.core.wire import Dictionary, SignedMessage
from relay.errors import DecodeError, LocalError, RemoteError, ValidationError, VerificationError
from tests.helpers import (
    AUTHORITY,
    MESSAGES_DIR,
    REVOKED_AT,
    SHARED_CORPUS_DIR,
    SIGNERS,
    STRANGER,
    T0,
    entry,
)
from tests.messages import messages

Dictionaries = dict[int, Dictionary]

# --- golden vectors ------------------------------------------------------------

# Golden messages: (name, sender node, message).
GOLDEN_MESSAGES: list[tuple[str, str, Message]] = [
    (
        "melding",
        "MOD",
        Message.create(
            kind=Kind.MELDING,
            origin="MOD",
            seq=7,
            created=T0,
            fields={"subject": "Strøm", "text": "Strømmen er tilbake i Vikersund sentrum.\nAggregatet står klart."},
        ),
    ),
    (
        "sitrep-all-fields",
        "MOD",
        Message.create(
            kind=Kind.SITREP,
            origin="MOD",
            seq=12,
            created=T0,
            priority=Priority.HASTER,
            to=Address(node="SF"),
            sender_role="kriseleder",
            incident="Dataangrep Modum",
            expires=datetime(2025, 5, 29, 18, 0, tzinfo=UTC),
            approved_by="kriseleder",
            fields={
                "report_no": 1,
                "period": "29.05 kl 08:00-14:30",
                "situation": "Dataangrep, bortfall av telefoni, e-post, internett og fagsystemer.",
                "consequences": "Innbyggere når ikke legevakt på telefon.",
                "actions_taken": "Informasjon via plakater og FM-radio.",
                "planned": "Oppmøtested ved rådhuset i Vikersund.",
                "needs": "Bistand til EPS, 2 personer med IKT-kompetanse.",
                "assessment": "Situasjonen er under kontroll.",
                "public_info": "Ring 112 ved nød, møt opp på rådhuset ellers.",
                "next_report": datetime(2025, 5, 29, 18, 0, tzinfo=UTC),
                "eps_count": 14,
            },
        ),
    ),
    (
        "status-rows",
        "RIN",
        Message.create(
            kind=Kind.STATUS,
            origin="RIN",
            seq=3,
            created=T0,
            priority=Priority.PRIORITET,
            to=Address(group="KOMMUNER"),
            fields={
                "rows": [
                    StatusRow(Function.VANN, Level.GUL, "Kokevarsel Hønefoss", None),
                    StatusRow(
                        Function.STROM, Level.ROD, "Trafo på Hvalsmoen ute", datetime(2025, 5, 30, 6, 0, tzinfo=UTC)
                    ),
                    StatusRow(Function.VEI, Level.GRONN),
                    StatusRow(Function.MOBIL, Level.UKJENT, None, datetime(2025, 5, 29, 20, 15, tzinfo=UTC)),
                ],
                "note": "Neste status kl 18.",
            },
        ),
    ),
    (
        "kvittering-ref",
        "SF",
        Message.create(
            kind=Kind.KVITTERING,
            origin="SF",
            seq=41,
            created=T0,
            to=Address(node="MOD"),
            ref=MessageRef("MOD", 12),
            fields={"level": "lest"},
        ),
    ),
    (
        "bistandssvar",
        "RIN",
        Message.create(
            kind=Kind.BISTANDSSVAR,
            origin="RIN",
            seq=4,
            created=T0,
            priority=Priority.HASTER,
            to=Address(node="MOD", role="eps"),
            ref=MessageRef("MOD", 13),
            fields={
                "answer": "delvis",
                "offer": "1 person med IKT-kompetanse",
                "eta": datetime(2025, 5, 29, 16, 0, tzinfo=UTC),
                "contact": "IKT-vakt Ringerike, sambandsrom",
                "conditions": "Til og med søndag.",
            },
        ),
    ),
    (
        "varsel-role-exercise",
        "SF",
        Message.create(
            kind=Kind.VARSEL,
            origin="SF",
            seq=1,
            created=T0,
            priority=Priority.NOD,
            exercise=True,
            to=Address(node="RIN", role="kriseleder"),
            sender_role="beredskap",
            incident="ØVELSE Storelva",
            expires=datetime(2025, 5, 30, 14, 30, tzinfo=UTC),
            fields={
                "topic": "Flomvarsel rødt nivå for Storelva",
                "validity": "Fra nå til 30.05 kl 14:30",
                "actions": "Evakuer Hofsfoss. Steng Fv 241 ved Hval.",
                "ack_required": True,
            },
        ),
    ),
    (
        "mote-unsynced-clock",
        "HOL",
        Message.create(
            kind=Kind.MOTE,
            origin="HOL",
            seq=300,
            created=T0,
            clock_synced=False,
            fields={
                "time": datetime(2025, 5, 29, 16, 0, tzinfo=UTC),
                "medium": "Rådhuset i Hole, møterom 2",
                "participants": "Kriseledelsen i alle seks kommuner",
                "agenda": "Felles EPS og samband",
                "input_deadline": datetime(2025, 5, 29, 15, 30, tzinfo=UTC),
            },
        ),
    ),
    (
        "bistand",
        "MOD",
        Message.create(
            kind=Kind.BISTAND,
            origin="MOD",
            seq=13,
            created=T0,
            priority=Priority.HASTER,
            fields={
                "resource": "IKT-personell",
                "quantity": 2,
                "task": "Sette opp nødnett-samband og reserveløsning for e-post",
                "location": "Rådhuset i Vikersund",
                "window": "29.05 kl 16 til 31.05",
                "contact": "Kriseleder Modum",
            },
        ),
    ),
    (
        "info",
        "JEV",
        Message.create(
            kind=Kind.INFO,
            origin="JEV",
            seq=2,
            created=T0,
            fields={
                "message": "Drikkevannet i Jevnaker er trygt.",
                "audience": "Innbyggere",
                "channel": "Plakater og NRK P1",
                "publish_at": datetime(2025, 5, 29, 15, 0, tzinfo=UTC),
                "state": "til godkjenning",
            },
        ),
    ),
    (
        "rykte",
        "POL",
        Message.create(
            kind=Kind.RYKTE,
            origin="POL",
            seq=5,
            created=T0,
            fields={
                "claim": "Vannet er forgiftet",
                "where_when": "Facebook, 29.05 morgen",
                "facts": "Prøver tatt kl 10 er rene",
                "response": "Vannet er trygt å drikke",
                "state": "avkreftet",
            },
        ),
    ),
    (
        "beslutning",
        "KRO",
        Message.create(
            kind=Kind.BESLUTNING,
            origin="KRO",
            seq=9,
            created=T0,
            approved_by="ordfører",
            fields={
                "decision": "Skolene holdes stengt fredag.",
                "responsible": "Kommunedirektør",
                "effective": datetime(2025, 5, 30, 6, 0, tzinfo=UTC),
            },
        ),
    ),
    (
        "roster-revocation",
        "SF",
        Message.create(
            kind=Kind.ROSTER,
            origin="SF",
            seq=3,
            created=T0,
            priority=Priority.HASTER,
            fields={
                "notice": Revocation.issue(SIGNERS["HOL"].public_key, REVOKED_AT, 41, AUTHORITY).to_bytes(),
                "node": "HOL",
                "reason": "Pi stjålet fra rådhuset.",
            },
        ),
    ),
]

# WIRE FORMAT 1.  A change to any of these bytes is a wire-format change: every
# deployed node would reject or misread the new encoding.  Never "update" them
# to match new code; bump FORMAT_VERSION or register a new dictionary id.
# Per message: the canonical body (encode_body), then the Ed25519 signature
# over MESSAGE_CONTEXT + body (Ed25519 is deterministic, so it is pinned too).
GOLDEN_BYTES: dict[str, tuple[str, str]] = {
    "melding": (
        "11ad6c748e169d4c0080c02e5a292f01a0c52a9d232ccf30222408993e3c",
        "13c092fb7d8c32e82bbe0067c6aeeae693774607f464c42f65e63cdb22d6631f"
        "a5738216b8bbdcec038e2c1057b3caf5a159a69654033646a63e723b0b288a03",
    ),
    "sitrep-all-fields": (
        "11056c7498169d4c9485e81129f9e4ac2a8cad6e52215795594140d50ae70900"
        "ef003f15e2d988a8704590e321ac35e2deafea50a5e84b58b5fbda736a73b266"
        "06ee6daaa7d9e01180cec8429710177604b616b40f6224e6702185704730f297"
        "f2c1cded9e4239c8",
        "ed04500d41e9c073ca88466707a26822d493ebeb48e6ba97f2e61fa6bfaf44dc"
        "6ee28b30f5aff8dfa4a88a12e977b19abba4f612205fac15288705b5be7b6500",
    ),
    "status-rows": (
        "1119cd9486169d4c20d22c3c2368bc82d40ad7ca45ea4ab25d0545edd84af161fa90d75415056226cc",
        "9f77fff0247e26c0a3b18078a03923f62bcdb5a87ddae672f8026b81525befa2"
        "d971f4e0372db465d35b9d449111279dc245096b9160307bb0893c6c9bde5c05",
    ),
    "kvittering-ref": (
        "114dc75bd2169d4ca30e0c48c3839880",
        "34deb92224b5e40b21362b83863bdeaeb27baf22896df4c5fc17c5b3fe97b5b3"
        "85d391c964fbfeb09f0f9455e5aff9535d90a798cbcb588edb87178688d57e04",
    ),
    "bistandssvar": (
        "1135cd9488169d4d1a30e0c48c3839abd20009cfab7aa6d719368644611b0a562f20dbb10fa1eec380",
        "91e1be68517f5e99e783997f435c52b8abc3bde3a64b2243209f2e203a8895e5"
        "e6d8812b08235d406bbdf07b18f37d52e77a6bdc7858421c1b9b91f467283301",
    ),
    "varsel-role-exercise": (
        "1153c75b82169d4d02448378817820ea70ede56e6c3bba15f4e836fe484277f8dccdbcefc3a62dfe06bff14939556ec37373f190a0",
        "e9a7313b5bbaab473e992c0e7788293d706ba1c9ea11d7006bf5ebb9aed4e315"
        "b8b1432c114f6288fbac237f3e13be9f33463e9e3add8fb28e665441a03cbc08",
    ),
    "mote-unsynced-clock": (
        "116c8cdc2d8169d4c007a570975db48d1fe1b0e031c265514d3e23205a1931aa90b89a89e0",
        "bededa20fc7db251fcf96d5c1faabdc1317e3a211229042589780356cd1ef6b2"
        "48de28571f44711e6df687be52022af5271bf118c2601748d0cb5f27a4bc6a09",
    ),
    "bistand": (
        "11256c749a169d4c00a047669982987d06ffd1fda9b7d968ef271dbc66c2a4955dbc511660ce07fa122252ec9793ac7f",
        "441190674d814427ef97ac98d8eb147a059ac21c5cef9c50f7fff31cbcf631be"
        "86398922dcb95ac631957968c30e59571b5b0e845d475235d5ba65992bf4ff0d",
    ),
    "info": (
        "117dc79a84169d4c00f8802c2947f39194cd72a0d3447cee8f10e7d42f48c27477db80",
        "49ba7de15a7393af154293b370650e40ecd10c703ace42c62d3348965e3deb27"
        "3da6b17d0aac8227fba43faa6ce15ade5168cdf5a6f93ce335d475e26bebed01",
    ),
    "rykte": (
        "118d14388a169d4c0000e209fa86eb7d0789783b376176ebac72ed0fc7c33e894ae096d37bef4de8046334",
        "d153e52b65c52da1af0614826745ad60faa1a6231a07662e386b77fa9609390d"
        "e854c1ec985efa6d132cc549bbd5818570678a43c234d5ee91ea4e0cea1b0c07",
    ),
    "beslutning": (
        "119df52192169d4c010f08fcf9f81968ccebbb2cecf769a141",
        "ee94b37817e6e328104d1920cc28abbf087e20c4342247496175bd8e37816d7b"
        "5751a06ee1fc8fd28ea44c2fb016462fe3c3316f57a5687e3770bbb44c037503",
    ),
    "roster-revocation": (
        "11b5c75b86169d4c00017d858916aa73f3bc0b4ec400000029ef2eee56c9812c"
        "cd8dc855bd6f45e7c80eb50f8018aff6c71510ef68f6f65d64014b2985e671f2"
        "c5924525ab2169ff16766da86231e3eae363b4ac7c69f50f0e803e63af188f92"
        "cb041204ce058a08",
        "177e7a6619bfcebe5627b6d3a748045dc76cb12119015965993023c79a1aee18"
        "d2d5b3486924a1a9122dce7d72ee05716a523207a655c53c310ed8a3469fd002",
    ),
}

VECTORS = [
    pytest.param(sender, message, bytes.fromhex(GOLDEN_BYTES[name][0]), bytes.fromhex(GOLDEN_BYTES[name][1]), id=name)
    for name, sender, message in GOLDEN_MESSAGES
]


def wire_of(name: str) -> bytes:
    body, signature = GOLDEN_BYTES[name]
    return bytes.fromhex(body + signature)


def test_golden_vectors_cover_every_kind() -> None:
    assert {message.kind for _, _, message in GOLDEN_MESSAGES} == set(Kind)
    assert set(GOLDEN_BYTES) == {name for name, _, _ in GOLDEN_MESSAGES}


@pytest.mark.parametrize(("sender", "message", "body", "signature"), VECTORS)
def test_golden_encode(sender: str, message: Message, body: bytes, signature: bytes, dictionary: Dictionary) -> None:
    signer = SIGNERS[sender]
    assert wire.encode_body(message, signer.key_id, dictionary) == body
    signed = wire.encode(message, signer, dictionary)
    assert signed.wire == body + signature
    assert signed.key_id == signer.key_id
    assert body[0] == 0x11  # format 1, dictionary 1: frames tell a bare message apart by it
    assert frames.is_message_frame(signed.wire)


@pytest.mark.parametrize(("sender", "message", "body", "signature"), VECTORS)
def test_golden_decode(
    sender: str, message: Message, body: bytes, signature: bytes, roster: Roster, dictionaries: Dictionaries
) -> None:
    signed = wire.decode(body + signature, roster, dictionaries)
    assert signed == SignedMessage(message, body + signature, SIGNERS[sender].key_id)
    assert signed.message.id == message.id


@pytest.mark.parametrize(("sender", "message", "body", "signature"), VECTORS)
def test_golden_peek(sender: str, message: Message, body: bytes, signature: bytes) -> None:
    assert wire.peek(body + signature) == wire.Peek(SIGNERS[sender].key_id, message.seq, message.kind, message.priority)


def test_header_layout_names_every_header_field_in_order() -> None:
    assert [slot.name for slot in wire.HEADER_LAYOUT] == [f.name for f in fields(wire.Header)]


# --- round trips ---------------------------------------------------------------


# A third of the profile's examples per kind: every kind is exercised, and the file stays fast.
PER_KIND = settings(max_examples=max(10, settings().max_examples // 3))


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name)
@PER_KIND
@given(data=st.data())
def test_round_trip_every_kind(kind: Kind, data: st.DataObject, roster: Roster, dictionaries: Dictionaries) -> None:
    msg = data.draw(messages(kinds=st.just(kind)))
    signed = wire.encode(msg, SIGNERS[msg.origin], dictionaries[1])
    assert len(signed.wire) <= wire.MAX_WIRE_BYTES
    assert wire.decode(signed.wire, roster, dictionaries) == signed
    assert wire.peek(signed.wire) == wire.Peek(signed.key_id, msg.seq, msg.kind, msg.priority)


def test_blank_optional_text_is_dropped(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    msg = Message.create(kind=Kind.MELDING, origin="HOL", seq=1, created=T0, fields={"subject": " \n ", "text": " x "})
    assert msg.fields == (("text", "x"),)
    assert wire.decode(wire.encode(msg, SIGNERS["HOL"], dictionary).wire, roster, dictionaries).message == msg


def test_created_is_normalised_to_a_utc_minute(roster: Roster, dictionary: Dictionary) -> None:
    oslo = timezone(timedelta(hours=2))
    msg = Message.create(
        kind=Kind.MELDING, origin="HOL", seq=1, created=datetime(2025, 5, 29, 16, 30, 59, 999, tzinfo=oslo),
        fields={"text": "x"},
    )  # fmt: skip
    assert msg.created == T0
    assert msg.created.tzinfo == UTC


# --- hostile input: decode or DecodeError, nothing else ----------------------------


def decode_or_none(data: bytes, roster: Roster, dictionaries: Dictionaries) -> SignedMessage | None:
    """The invariant itself: a SignedMessage, or DecodeError (returned as None), nothing else."""
    try:
        return wire.decode(data, roster, dictionaries)
    except DecodeError:
        return None
    except Exception as exc:  # any other type breaks the invariant
        pytest.fail(f"wire.decode raised {type(exc).__name__}: {exc!r} on {data.hex()}")


KEY_IDS = [s.key_id for s in SIGNERS.values()] + [STRANGER.key_id]


@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_raise_decode_error(data: bytes, roster: Roster, dictionaries: Dictionaries) -> None:
    assert decode_or_none(data, roster, dictionaries) is None


@given(
    second=st.integers(0, 255),
    key_id=st.sampled_from(KEY_IDS),
    rest=st.binary(min_size=0, max_size=300),
)
def test_arbitrary_bytes_past_the_header_raise_decode_error(
    second: int, key_id: int, rest: bytes, roster: Roster, dictionaries: Dictionaries
) -> None:
    """Format 1, dictionary 1 and a roster key id: these get as far as the signature check."""
    data = bytes([0x11, second]) + key_id.to_bytes(2, "big") + rest
    assert decode_or_none(data, roster, dictionaries) is None


def _truncate(n: int) -> Callable[[bytes], bytes]:
    return lambda b: b[: n % len(b)]


def _replace(edits: list[tuple[int, int]]) -> Callable[[bytes], bytes]:
    def apply(b: bytes) -> bytes:
        out = bytearray(b)
        for pos, value in edits:
            out[pos % len(out)] = value
        return bytes(out)

    return apply


def _insert(pos: int, extra: bytes) -> Callable[[bytes], bytes]:
    return lambda b: b[: pos % (len(b) + 1)] + extra + b[pos % (len(b) + 1) :]


def _delete(pos: int, n: int) -> Callable[[bytes], bytes]:
    return lambda b: b[: pos % len(b)] + b[pos % len(b) + n :]


mutations = st.one_of(
    st.integers(0, 4096).map(_truncate),
    st.binary(min_size=1, max_size=64).map(lambda extra: lambda b: b + extra),
    st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=8).map(_replace),
    st.builds(_insert, st.integers(0, 4096), st.binary(min_size=1, max_size=16)),
    st.builds(_delete, st.integers(0, 4096), st.integers(1, 16)),
)


@given(name=st.sampled_from(sorted(GOLDEN_BYTES)), mutate=mutations)
def test_mutated_messages_are_rejected(
    name: str, mutate: Callable[[bytes], bytes], roster: Roster, dictionaries: Dictionaries
) -> None:
    original = wire_of(name)
    data = mutate(original)
    result = decode_or_none(data, roster, dictionaries)
    assert result is None or data == original


def test_every_single_bit_flip_is_rejected(roster: Roster, dictionaries: Dictionaries) -> None:
    original = wire_of("sitrep-all-fields")
    for bit in range(len(original) * 8):
        flipped = bytearray(original)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(DecodeError) as info:
            wire.decode(bytes(flipped), roster, dictionaries)
        reason = info.value.reason
        if bit < 4:
            assert reason == "unsupported_version", bit
        elif bit < 8:
            assert reason == "unknown_dictionary", bit
        elif bit < 12:  # kind: an index past the last kind is malformed
            assert reason in ("malformed", "bad_signature"), bit
        elif 16 <= bit < 32:  # the sender's key id
            assert reason == "unknown_sender", bit
        else:
            assert reason == "bad_signature", bit


@given(msg=messages(), position=st.integers(0, 1 << 20))
def test_single_bit_flips_are_rejected(msg: Message, position: int, roster: Roster, dictionary: Dictionary) -> None:
    original = wire.encode(msg, SIGNERS[msg.origin], dictionary).wire
    flipped = bytearray(original)
    bit = position % (len(original) * 8)
    flipped[bit // 8] ^= 0x80 >> (bit % 8)
    with pytest.raises(DecodeError):
        wire.decode(bytes(flipped), roster, {1: dictionary})


def signed_by(signer: Signer, body: bytes) -> bytes:
    return body + signer.sign(MESSAGE_CONTEXT + body)


@given(
    msg=messages(),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 4096),
    extra=st.binary(max_size=8),
)
def test_signed_garbage_from_a_roster_member_is_a_decode_error(
    msg: Message,
    edits: list[tuple[int, int]],
    cut: int,
    extra: bytes,
    roster: Roster,
    dictionary: Dictionary,
    dictionaries: Dictionaries,
) -> None:
    """A valid signature over a broken body (a buggy or hostile node) still only decodes or raises."""
    signer = SIGNERS[msg.origin]
    body = bytearray(wire.encode_body(msg, signer.key_id, dictionary))
    for pos, value in edits:  # keep byte 0 (format, dictionary) and bytes 2-3 (key id)
        pos = pos % len(body)
        if pos not in (0, 2, 3):
            body[pos] = value
    mutated = bytes(body[: max(4, cut % (len(body) + 1))]) + extra
    result = decode_or_none(signed_by(signer, mutated), roster, dictionaries)
    if result is not None:
        assert wire.encode_body(result.message, signer.key_id, dictionary) == mutated
        assert result.message.origin == msg.origin


@given(second=st.integers(0, 255), node=st.sampled_from(sorted(SIGNERS)), rest=st.binary(max_size=200))
def test_signed_random_bodies_are_a_decode_error(
    second: int, node: str, rest: bytes, roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries
) -> None:
    signer = SIGNERS[node]
    body = bytes([0x11, second]) + signer.key_id.to_bytes(2, "big") + rest
    result = decode_or_none(signed_by(signer, body), roster, dictionaries)
    if result is not None:
        assert wire.encode_body(result.message, signer.key_id, dictionary) == body


# --- verification reasons ------------------------------------------------------


def reason_of(data: bytes, roster: Roster, dictionaries: Dictionaries) -> str:
    with pytest.raises(DecodeError) as info:
        wire.decode(data, roster, dictionaries)
    assert isinstance(info.value, RemoteError)
    return info.value.reason


def melding(origin: str = "MOD", text: str = "Strømmen er tilbake.") -> Message:
    return Message.create(kind=Kind.MELDING, origin=origin, seq=7, created=T0, fields={"text": text})


def test_unknown_sender(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    data = wire.encode(melding(), STRANGER, dictionary).wire
    with pytest.raises(VerificationError) as info:
        wire.decode(data, roster, dictionaries)
    assert info.value.reason == "unknown_sender"


def test_revoked_key(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    """Its messages from before the revocation stay valid; later ones are refused."""
    before = wire.encode(melding(), SIGNERS["MOD"], dictionary).wire  # T0, half an hour before
    after = wire.encode(replace(melding(), created=REVOKED_AT + timedelta(minutes=1)), SIGNERS["MOD"], dictionary).wire
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    assert wire.decode(before, revoked, dictionaries).message == melding()
    with pytest.raises(VerificationError) as info:
        wire.decode(after, revoked, dictionaries)
    assert info.value.reason == "revoked"


def test_a_revocation_with_the_last_genuine_number_refuses_a_back_dated_message(
    roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries
) -> None:
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT, last_seq=6)
    back_dated = wire.encode(melding(), SIGNERS["MOD"], dictionary).wire  # number 7, dated before the revocation
    assert reason_of(back_dated, revoked, dictionaries) == "revoked"
    genuine = wire.encode(replace(melding(), seq=6), SIGNERS["MOD"], dictionary).wire
    assert wire.decode(genuine, revoked, dictionaries).message.seq == 6


def test_new_key_after_revocation(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    new_key = Signer.from_seed(bytes([0x40]) * 32)
    revoked = roster.with_revoked("MOD", AUTHORITY, REVOKED_AT)
    renewed = revoked.with_entry(entry("MOD", "Modum kommune", "kommune", new_key), AUTHORITY, REVOKED_AT)
    assert wire.decode(wire.encode(melding(), new_key, dictionary).wire, renewed, dictionaries).message == melding()
    later = replace(melding(), created=REVOKED_AT + timedelta(hours=1))
    assert reason_of(wire.encode(later, SIGNERS["MOD"], dictionary).wire, renewed, dictionaries) == "revoked"


def test_altered_and_resigned_by_an_outsider(
    roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries
) -> None:
    forged = melding(text="Alt er normalt, avslutt kriseledelsen.")
    # Re-signed under the outsider's own key id: nobody in the roster has it.
    data = wire.encode(forged, STRANGER, dictionary).wire
    assert reason_of(data, roster, dictionaries) == "unknown_sender"
    # Re-signed by the outsider while claiming MOD's key id: the signature fails.
    body = wire.encode_body(forged, SIGNERS["MOD"].key_id, dictionary)
    assert reason_of(signed_by(STRANGER, body), roster, dictionaries) == "bad_signature"
    # Signed by another roster member while claiming MOD's key id: also fails.
    assert reason_of(signed_by(SIGNERS["HOL"], body), roster, dictionaries) == "bad_signature"


@pytest.mark.parametrize("offset", [4, 12, -SIGNATURE_BYTES - 1, -SIGNATURE_BYTES, -1])
def test_tampered_byte_is_bad_signature(offset: int, roster: Roster, dictionaries: Dictionaries) -> None:
    data = bytearray(wire_of("melding"))
    data[offset] ^= 0x01
    assert reason_of(bytes(data), roster, dictionaries) == "bad_signature"


def test_replaced_body_with_old_signature(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    original = wire_of("melding")
    body = wire.encode_body(melding(text="Alt er normalt."), SIGNERS["MOD"].key_id, dictionary)
    assert reason_of(body + original[-SIGNATURE_BYTES:], roster, dictionaries) == "bad_signature"


def test_unknown_dictionary(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    assert reason_of(wire_of("melding"), roster, {}) == "unknown_dictionary"
    other = Dictionary(2, "nb-krise-2", dictionary.model)
    data = wire.encode(melding(), SIGNERS["MOD"], other).wire
    assert data[0] == 0x12
    assert reason_of(data, roster, dictionaries) == "unknown_dictionary"
    assert wire.decode(data, roster, {2: other}).message == melding()


@pytest.mark.parametrize("version", [0, 2, 15])
def test_unsupported_version(version: int, roster: Roster, dictionaries: Dictionaries) -> None:
    data = bytearray(wire_of("melding"))
    data[0] = (version << 4) | (data[0] & 0x0F)
    assert reason_of(bytes(data), roster, dictionaries) == "unsupported_version"
    with pytest.raises(DecodeError, match="version"):
        wire.peek(bytes(data))


@pytest.mark.parametrize(("size", "reason"), [(0, "truncated"), (71, "truncated"), (4097, "too_long")])
def test_size_limits(size: int, reason: str, roster: Roster, dictionaries: Dictionaries) -> None:
    data = (wire_of("melding") * 50)[:size]
    assert reason_of(data, roster, dictionaries) == reason


def test_error_tree() -> None:
    assert issubclass(VerificationError, DecodeError)
    assert issubclass(DecodeError, RemoteError)
    assert issubclass(ValidationError, LocalError)
    assert not issubclass(ValidationError, RemoteError)


# --- validation of locally created messages --------------------------------------

NAIVE = datetime(2025, 5, 29, 14, 30)


def create(**overrides: object) -> Message:
    args: dict[str, object] = {
        "kind": Kind.MELDING,
        "origin": "MOD",
        "seq": 1,
        "created": T0,
        "fields": {"text": "Strømmen er tilbake."},
    }
    args.update(overrides)
    return Message.create(**args)  # type: ignore[arg-type]


SITREP_FIELDS = {
    "report_no": 1,
    "situation": "Dataangrep.",
    "actions_taken": "Plakater.",
    "needs": "IKT-folk.",
    "next_report": datetime(2025, 5, 29, 18, 0, tzinfo=UTC),
}
ROW = StatusRow(Function.STROM, Level.ROD)


def sitrep(**changes: object) -> Message:
    return create(kind=Kind.SITREP, fields={**SITREP_FIELDS, **changes})


@pytest.mark.parametrize(
    ("build", "match"),
    [
        pytest.param(lambda: create(fields={}), "text", id="missing-text"),
        pytest.param(lambda: create(fields={"subject": "Strøm"}), "text", id="missing-text-with-subject"),
        pytest.param(
            lambda: create(kind=Kind.SITREP, fields={k: v for k, v in SITREP_FIELDS.items() if k != "situation"}),
            "situation",
            id="sitrep-missing-situation",
        ),
        pytest.param(lambda: create(fields={"text": "x", "tekst": "y"}), "tekst", id="unknown-field"),
        pytest.param(lambda: create(fields={"text": "x" * (MAX_TEXT_CHARS + 1)}), "lang", id="text-too-long"),
        pytest.param(
            lambda: create(fields={"subject": "x" * 1000, "text": "y" * 1000}, incident="z"),
            "lang",
            id="total-too-long",
        ),
        pytest.param(
            lambda: create(kind=Kind.KVITTERING, fields={"level": "lest"}), "referanse", id="kvittering-no-ref"
        ),
        pytest.param(
            lambda: create(
                kind=Kind.BISTANDSSVAR,
                fields={"answer": "innvilget", "offer": "2 personer", "eta": T0, "contact": "Vakt"},
            ),
            "referanse",
            id="bistandssvar-no-ref",
        ),
        pytest.param(lambda: create(origin="M"), "node-ID", id="node-too-short"),
        pytest.param(lambda: create(origin="MODUMKOMM"), "node-ID", id="node-too-long"),
        pytest.param(lambda: create(origin="1MO"), "node-ID", id="node-starts-with-digit"),
        pytest.param(lambda: create(origin="MØD"), "node-ID", id="node-non-ascii"),
        pytest.param(lambda: Address.parse("HØL"), "node-ID", id="address-bad-node"),
        pytest.param(lambda: Address.parse("kriseleder@X"), "node-ID", id="address-role-bad-node"),
        pytest.param(lambda: create(sender_role="sjef"), "rolle", id="unknown-sender-role"),
        pytest.param(lambda: Address.parse("sjef@MOD"), "rolle", id="address-unknown-role"),
        pytest.param(lambda: Kind.parse("FOO"), "meldingstype", id="unknown-kind"),
        pytest.param(lambda: Priority.parse("viktig"), "prioritet", id="unknown-priority"),
        pytest.param(lambda: MessageRef.parse("MOD-0"), "løpenummer", id="ref-seq-zero"),
        pytest.param(lambda: MessageRef.parse("MOD7"), "meldings-ID", id="ref-malformed"),
        pytest.param(lambda: create(created=NAIVE), "tidssone", id="naive-created"),
        pytest.param(lambda: create(expires=NAIVE), "tidssone", id="naive-expires"),
        pytest.param(lambda: sitrep(next_report=NAIVE), "tidssone", id="naive-field-time"),
        pytest.param(lambda: create(expires=T0 - timedelta(minutes=1)), "før", id="expires-before-created"),
        pytest.param(lambda: create(created=datetime(2023, 12, 31, 23, 59, tzinfo=UTC)), "utenfor", id="before-epoch"),
        pytest.param(lambda: create(created=datetime(2056, 1, 1, tzinfo=UTC)), "utenfor", id="after-2055"),
        pytest.param(lambda: create(seq=0), "løpenummer", id="seq-zero"),
        pytest.param(lambda: create(seq=1 << 32), "løpenummer", id="seq-too-big"),
        pytest.param(lambda: create(fields={"text": "alarm\x07"}), "U\\+0007", id="control-character"),
        pytest.param(lambda: create(fields={"text": "x\x00y"}), "U\\+0000", id="nul"),
        pytest.param(lambda: create(fields={"text": "privat \ue000"}), "U\\+E000", id="private-use"),
        pytest.param(lambda: create(fields={"text": 7}), "tekst", id="text-not-str"),
        pytest.param(lambda: sitrep(report_no=-1), "tall", id="negative"),
        pytest.param(lambda: sitrep(report_no=True), "tall", id="bool-int"),
        pytest.param(lambda: sitrep(report_no="tre"), "heltall", id="nan"),
        pytest.param(lambda: create(kind=Kind.STATUS, fields={"rows": []}), "minst", id="status-no-rows"),
        pytest.param(lambda: create(kind=Kind.STATUS, fields={"rows": [ROW, ROW]}), "to ganger", id="status-duplicate"),
        pytest.param(
            lambda: create(kind=Kind.KVITTERING, fields={"level": "sett"}, ref=MessageRef("MOD", 1)),
            "ugyldig level",
            id="bad-enum",
        ),
        pytest.param(
            lambda: create(
                kind=Kind.VARSEL, fields={"topic": "a", "validity": "b", "actions": "c", "ack_required": "tja"}
            ),
            "ja eller nei",
            id="bad-bool",
        ),
    ],
)
def test_validation_errors(build: Callable[[], object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        build()


def test_max_text_chars_is_inclusive() -> None:
    assert len(create(fields={"text": "x" * MAX_TEXT_CHARS}).main_text) == MAX_TEXT_CHARS


@pytest.mark.parametrize("text", ["MELDING", "melding", " Møte ", "mote", "BISTANDSSVAR"])
def test_kind_parse_folds_case_and_letters(text: str) -> None:
    assert Kind.parse(text).value.upper().replace("Ø", "O") == text.strip().upper().replace("Ø", "O")


# --- corpus figures ------------------------------------------------------------


def melding_wire(text: str, dictionary: Dictionary) -> bytes:
    return wire.encode(melding("MOD", text), SIGNERS["MOD"], dictionary).wire


def corpus_texts(folder: object) -> dict[str, str]:
    from pathlib import Path

    assert isinstance(folder, Path)
    return {p.name: p.read_text(encoding="utf-8").strip() for p in sorted(folder.glob("*.txt"))}


def test_shipped_examples_fit_one_packet(roster: Roster, dictionary: Dictionary, dictionaries: Dictionaries) -> None:
    texts = corpus_texts(MESSAGES_DIR)
    assert len(texts) >= 10
    sizes = {name: len(melding_wire(text, dictionary)) for name, text in texts.items()}
    one_packet = [name for name, size in sizes.items() if frames.packets_for(size) == 1]
    assert len(one_packet) >= 0.9 * len(texts), sizes
    for text in texts.values():
        data = melding_wire(text, dictionary)
        assert wire.decode(data, roster, dictionaries).message == melding("MOD", text)


def test_shared_corpus_fits_one_packet(dictionary: Dictionary) -> None:
    if not SHARED_CORPUS_DIR.is_dir():
        pytest.skip(f"no shared corpus at {SHARED_CORPUS_DIR}")
    texts = corpus_texts(SHARED_CORPUS_DIR)
    sizes = {name: len(melding_wire(text, dictionary)) for name, text in texts.items()}
    assert sizes["s01.txt"] <= MAX_APP_PAYLOAD, sizes
    assert sum(frames.packets_for(size) == 1 for size in sizes.values()) >= 14, sizes


# --- regressions: bugs found by these tests and fixed in relay/ -------------------------


def test_text_stream_needing_many_implied_zeros_decodes(roster: Roster, dictionary: Dictionary) -> None:
    """Was rejected as 'truncated': the encoder trims more trailing zero bytes than the decoder allowed for."""
    msg = melding("MOD", "Neste rapport kl 20:37.")
    data = wire.encode(msg, SIGNERS["MOD"], dictionary).wire
    assert wire.decode(data, roster, {1: dictionary}).message == msg


def test_blank_envelope_text_is_dropped(roster: Roster, dictionary: Dictionary) -> None:
    """Was '' with its presence flag set but no text in the stream: undecodable."""
    msg = create(incident="   ", approved_by=" \n")
    assert (msg.incident, msg.approved_by) == (None, None)
    data = wire.encode(msg, SIGNERS["MOD"], dictionary).wire
    assert wire.decode(data, roster, {1: dictionary}).message == msg


def expires_overflow_body(key_id: int, dictionary: Dictionary) -> bytes:
    """A MELDING whose 'expires' delta is 2**40 minutes: well-formed bits, absurd value."""
    w = BitWriter()
    w.write(1, 4)  # format
    w.write(1, 4)  # dictionary
    w.write(list(Kind).index(Kind.MELDING), 4)
    w.write(3, 2)  # RUTINE
    w.write_bool(False)  # exercise
    w.write_bool(True)  # clock synced
    w.write(key_id, 16)
    w.write_golomb(1, wire.SEQ_K)
    w.write(765_000, 24)  # created
    w.write(0, 2)  # to: group
    w.write(0, 2)  # ALLE
    for flag in (False, False, True, False, False):  # sender_role, incident, expires, ref, approved_by
        w.write_bool(flag)
    w.write_golomb(1 << 40, wire.DELTA_K)  # expires - created, in minutes
    w.write_bool(False)  # no subject; text is required and lives in the stream
    return w.to_bytes() + dictionary.model.encode(["hei"])


def test_expires_out_of_range_is_a_decode_error(roster: Roster, dictionary: Dictionary) -> None:
    """Was an OverflowError out of wire.decode for a message signed by a roster member."""
    data = signed_by(SIGNERS["MOD"], expires_overflow_body(SIGNERS["MOD"].key_id, dictionary))
    assert reason_of(data, roster, {1: dictionary}) == "malformed"


def test_message_too_big_for_sixteen_packets_is_refused(roster: Roster, dictionary: Dictionary) -> None:
    """MAX_TEXT_CHARS alone does not bound the bytes: 2000 astral letters took 7701 (decode: too_long)."""
    with pytest.raises(ValidationError, match="radiopakker"):
        wire.encode(create(fields={"text": "𝔄" * MAX_TEXT_CHARS}), SIGNERS["MOD"], dictionary)
    # Norwegian text of the same length fits easily, and round trips.
    msg = create(fields={"text": ("Strømmen er tilbake i Vikersund. " * 70)[:MAX_TEXT_CHARS]})
    signed = wire.encode(msg, SIGNERS["MOD"], dictionary)
    assert len(signed.wire) <= airtime.MAX_MESSAGE_BYTES
    assert len(frames.split(signed.wire, signed.key_id, msg.seq)) == frames.packets_for(len(signed.wire))
    assert wire.decode(signed.wire, roster, {1: dictionary}).message == msg


@pytest.mark.parametrize(
    "ref", [MessageRef("MOD", 0), MessageRef("MOD", 1 << 32), MessageRef("M", 7), MessageRef("MØD", 7)]
)
def test_ref_is_validated(ref: MessageRef) -> None:
    """Was accepted unchecked; wire.encode then raised ValueError outside the error tree."""
    with pytest.raises(ValidationError):
        create(kind=Kind.KVITTERING, fields={"level": "lest"}, ref=ref)


def test_ref_is_normalised() -> None:
    msg = create(kind=Kind.KVITTERING, fields={"level": "lest"}, ref=MessageRef("mod", 7))
    assert msg.ref == MessageRef("MOD", 7)


def test_ref_seq_zero_from_the_air_is_rejected(roster: Roster, dictionary: Dictionary) -> None:
    """The remote half of the ref bug above: a signed message naming MOD-0000 does not decode."""
    msg = replace(
        create(kind=Kind.KVITTERING, fields={"level": "lest"}, ref=MessageRef("SF", 1)), ref=MessageRef("SF", 0)
    )
    data = wire.encode(msg, SIGNERS["MOD"], dictionary).wire
    with pytest.raises(DecodeError) as info:
        wire.decode(data, roster, {1: dictionary})
    assert info.value.reason == "invalid_content"
