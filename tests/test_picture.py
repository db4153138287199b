"""The situation picture (relay.core.picture): the facts the crisis staff decide from."""

from __future__ import annotations

from datetime import timedelta

from relay.core.compose import compose
from relay.core.confirm import Confirmation, addressees, confirm, waiting
from relay.core.model import Address, Answer, Function, Kind, Level, Message, MessageRef, Priority, RumourState
from relay.core.picture import Coverage, Entry, Picture, build
from tests.helpers import T0

NODES = ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG", "SF", "POL")
MEMBERS = {"ALLE": NODES, "KOMMUNER": ("RIN", "HOL", "JEV", "MOD", "KRO", "SIG")}
HOUR = timedelta(hours=1)


def msg(kind: Kind, origin: str, seq: int, minutes: int = 0, **kw: object) -> Message:
    return compose(kind, origin, seq, T0 + timedelta(minutes=minutes), exercise=True, **kw)  # type: ignore[arg-type]


def picture(*entries: Entry | Message, now_minutes: int = 60, exercise: bool = True) -> Picture:
    held = [e if isinstance(e, Entry) else Entry(e) for e in entries]
    return build(held, T0 + timedelta(minutes=now_minutes), NODES, MEMBERS, exercise)


def kvittering(origin: str, seq: int, ref: str, level: str, minutes: int = 0) -> Message:
    return msg(Kind.KVITTERING, origin, seq, minutes, fields={"level": level}, ref=MessageRef.parse(ref))


def test_the_status_matrix_holds_each_nodes_latest_row_per_function() -> None:
    first = msg(Kind.STATUS, "MOD", 1, 0, fields={"rows": {"STRØM": "RØD: hele Vikersund", "VANN": "GRØNN"}})
    later = msg(Kind.STATUS, "MOD", 2, 30, fields={"rows": {"STRØM": "GUL: delvis tilbake"}})
    hole = msg(Kind.STATUS, "HOL", 1, 10, fields={"rows": {"VEI": "GUL: Fv 285 stengt"}})

    p = picture(later, first, hole)

    assert p.functions == (Function.STROM, Function.VANN, Function.VEI)  # only what someone reported
    assert (p.cells["MOD", Function.STROM].level, p.cells["MOD", Function.STROM].note) == (Level.GUL, "delvis tilbake")
    assert p.cells["MOD", Function.STROM].source == "MOD-0002"
    assert p.cells["MOD", Function.VANN].level is Level.GRONN  # the older report still holds for water
    assert ("HOL", Function.STROM) not in p.cells
    assert not p.cells["HOL", Function.VEI].stale
    assert picture(hole, now_minutes=10 + 181).cells["HOL", Function.VEI].stale  # older than three hours


def test_a_conflicting_message_is_flagged_not_taken_as_fact() -> None:
    a = msg(Kind.STATUS, "MOD", 1, fields={"rows": {"STRØM": "GRØNN"}})
    b = msg(Kind.STATUS, "MOD", 1, fields={"rows": {"STRØM": "RØD"}})

    p = picture(Entry(a, conflict=True), Entry(b, conflict=True))

    assert p.cells["MOD", Function.STROM].conflict
    assert p.conflicts == ("MOD-0001",)


def test_the_latest_sitrep_per_node_and_whether_the_next_is_overdue() -> None:
    def sitrep(origin: str, seq: int, number: int, minutes: int, next_in: int) -> Message:
        fields = {
            "report_no": number,
            "actions_taken": "Plakater.",
            "needs": f"Behov {number}.",
            "next_report": T0 + timedelta(minutes=minutes + next_in),
        }
        return msg(Kind.SITREP, origin, seq, minutes, text=f"Rapport {number}.", fields=fields)

    p = picture(sitrep("MOD", 1, 1, 0, 60), sitrep("MOD", 3, 2, 50, 60), sitrep("HOL", 1, 1, 0, 30), now_minutes=70)

    assert [(s.node, s.report_no, s.situation, s.overdue) for s in p.sitreps] == [
        ("HOL", 1, "Rapport 1.", True),  # due at 0:30: 40 minutes late
        ("MOD", 2, "Rapport 2.", False),  # due at 1:50
    ]


def test_a_nod_stays_on_the_banner_until_every_addressee_has_read_it() -> None:
    nod = msg(Kind.MELDING, "POL", 1, 0, text="Trafikkulykke E16.", priority=Priority.NOD, to=Address(group="KOMMUNER"))
    received = Entry(nod, holders=tuple((n, T0 + timedelta(minutes=1)) for n in MEMBERS["KOMMUNER"]))
    read_by_some = [kvittering(n, 1, "POL-0001", "LEST", 2) for n in ("RIN", "HOL", "JEV", "MOD", "KRO")]

    (alert,) = picture(received, *read_by_some).alerts
    assert (alert.priority, alert.text, alert.acknowledged) == (Priority.NOD, "Trafikkulykke E16.", False)
    assert alert.addressees == MEMBERS["KOMMUNER"]
    assert {c.node: c.level for c in alert.confirmations} == {
        "RIN": "LEST",
        "HOL": "LEST",
        "JEV": "LEST",
        "MOD": "LEST",
        "KRO": "LEST",
        "SIG": "MOTTATT",
    }
    assert waiting(alert.confirmations) == ((), (alert.confirmations[-1],))  # SIG has it, has not read it

    (done,) = picture(received, *read_by_some, kvittering("SIG", 1, "POL-0001", "UTFØRT", 5)).alerts
    assert done.acknowledged


def test_an_alert_says_who_has_not_received_it_and_when_they_were_last_heard() -> None:
    nod = msg(Kind.MELDING, "POL", 1, 0, text="Trafikkulykke E16.", priority=Priority.NOD, to=Address(group="KOMMUNER"))
    heard = {"SIG": T0 + timedelta(minutes=3), "POL": T0}
    p = build(
        [Entry(nod, holders=(("RIN", T0 + timedelta(minutes=1)),))],
        T0 + HOUR,
        NODES,
        MEMBERS,
        True,
        heard,
    )
    (alert,) = p.alerts
    unreceived, unread = waiting(alert.confirmations)
    assert [c.node for c in unread] == ["RIN"]
    assert [(c.node, c.last_heard) for c in unreceived] == [
        ("HOL", None),
        ("JEV", None),
        ("MOD", None),
        ("KRO", None),
        ("SIG", T0 + timedelta(minutes=3)),
    ]


def test_a_haster_to_one_node_clears_with_its_answer_and_an_expired_one_leaves_the_banner() -> None:
    haster = msg(Kind.BISTAND, "MOD", 2, 0, text="Drift av nettverk.", priority=Priority.HASTER, to=Address(node="HOL"))
    answer = msg(
        Kind.BISTANDSSVAR,
        "HOL",
        1,
        5,
        text="1 IKT-tekniker.",
        fields={"answer": "DELVIS", "contact": "Hole"},
        ref=MessageRef.parse("MOD-0002"),
    )
    assert [a.acknowledged for a in picture(haster).alerts] == [False]
    assert [a.acknowledged for a in picture(haster, answer).alerts] == [True]  # an answer shows it was read

    gone = compose(Kind.MELDING, "RIN", 1, T0, text="Vann.", priority=Priority.HASTER, expires=T0 + HOUR, exercise=True)
    assert picture(gone, now_minutes=61).alerts == ()


def test_assistance_requests_are_open_partly_covered_or_covered() -> None:
    def bistand(seq: int) -> Message:
        return msg(Kind.BISTAND, "MOD", seq, seq, text=f"Oppdrag {seq}.", fields={"resource": "IKT", "quantity": 2})

    def svar(seq: int, ref: int, answer: str) -> Message:
        fields = {"answer": answer, "contact": "Hole"}
        return msg(Kind.BISTANDSSVAR, "HOL", seq, 10 + seq, text="Tilbud.", fields=fields, ref=MessageRef("MOD", ref))

    p = picture(
        bistand(1), bistand(2), bistand(3), svar(1, 2, "DELVIS"), svar(2, 3, "AVSLÅTT"), svar(3, 1, "INNVILGET")
    )

    assert [(a.source, a.coverage) for a in p.assistance] == [
        ("MOD-0003", Coverage.OPEN),  # refused: still open
        ("MOD-0002", Coverage.PARTLY),
        ("MOD-0001", Coverage.COVERED),
    ]
    assert [o.answer for o in p.assistance[0].offers] == [Answer.AVSLATT]


def test_a_rumour_once_with_its_latest_state_and_decisions_as_a_timeline() -> None:
    fields = {"facts": "Under avklaring.", "response": "Følg kommunens informasjon.", "state": "UAVKLART"}
    rumour = msg(Kind.RYKTE, "MOD", 1, 0, text="Skolene stenger.", fields=fields)
    denied = msg(
        Kind.RYKTE,
        "MOD",
        2,
        20,
        text="Skolene stenger.",
        fields={**fields, "response": "Skolene er åpne.", "state": "AVKREFTET"},
        ref=MessageRef("MOD", 1),
    )
    late = msg(Kind.BESLUTNING, "RIN", 1, 5, text="Skolene holdes stengt fredag.", fields={"effective": T0 + 3 * HOUR})
    soon = msg(Kind.BESLUTNING, "MOD", 3, 30, text="EPS åpnes.", fields={"effective": T0 + HOUR})

    p = picture(rumour, denied, late, soon)

    assert [(r.source, r.state, r.response) for r in p.rumours] == [
        ("MOD-0002", RumourState.AVKREFTET, "Skolene er åpne.")
    ]
    assert [d.decision for d in p.decisions] == ["EPS åpnes.", "Skolene holdes stengt fredag."]


def test_exercise_and_real_traffic_are_never_mixed() -> None:
    drill = msg(Kind.STATUS, "MOD", 1, fields={"rows": {"STRØM": "RØD"}})
    real = compose(Kind.STATUS, "MOD", 2, T0, fields={"rows": {"STRØM": "GRØNN"}}, exercise=False)

    assert picture(drill, real, exercise=True).cells["MOD", Function.STROM].level is Level.ROD
    assert picture(drill, real, exercise=False).cells["MOD", Function.STROM].level is Level.GRONN
    assert picture(drill, real, exercise=False).exercise is False


def test_a_request_goes_open_partly_covered_covered_and_is_closed_by_its_requesters_utfort() -> None:
    request = msg(Kind.BISTAND, "MOD", 1, 0, text="Drift av nettverk.")
    ref = MessageRef.parse("MOD-0001")

    def answer(origin: str, seq: int, what: str, minutes: int) -> Message:
        fields = {"answer": what, "offer": f"{origin} hjelper", "eta": T0 + HOUR, "contact": "Beredskap"}
        return msg(Kind.BISTANDSSVAR, origin, seq, minutes, fields=fields, ref=ref)

    steps = [request]
    assert picture(*steps).assistance[0].coverage is Coverage.OPEN
    steps.append(answer("HOL", 1, "DELVIS", 5))
    assert picture(*steps).assistance[0].coverage is Coverage.PARTLY
    steps.append(answer("RIN", 1, "INNVILGET", 10))
    covered = picture(*steps).assistance[0]
    assert covered.coverage is Coverage.COVERED and [o.node for o in covered.offers] == ["HOL", "RIN"]
    steps.append(kvittering("HOL", 2, "MOD-0001", "UTFØRT", 20))  # another node's receipt closes nothing
    assert picture(*steps).assistance[0].coverage is Coverage.COVERED
    steps.append(kvittering("MOD", 2, "MOD-0001", "UTFØRT", 30))
    assert picture(*steps).assistance[0].coverage is Coverage.CLOSED


# --- per addressee: relay.core.confirm ---------------------------------------------------------


def test_each_addressee_gets_received_read_and_done_from_holdings_and_receipts() -> None:
    request = msg(Kind.MELDING, "MOD", 2, 0, text="Aggregat?", to=Address(group="KOMMUNER"))
    at = {m: T0 + timedelta(minutes=m) for m in range(60)}
    holdings = [("RIN", at[5]), ("RIN", at[3]), ("HOL", at[4]), ("SF", at[2])]  # SF holds it, is not asked
    replies = [
        kvittering("RIN", 1, "MOD-0002", "LEST", 7),
        kvittering("RIN", 2, "MOD-0002", "UTFØRT", 30),
        kvittering("RIN", 3, "MOD-0002", "LEST", 9),  # a second LEST: the first counts
        kvittering("JEV", 1, "MOD-0002", "MOTTATT", 6),  # its own signed word that it has it
        kvittering("KRO", 1, "MOD-0001", "LEST", 6),  # another message
    ]
    found = confirm(request, addressees(request, MEMBERS), holdings, replies, {"SIG": at[40], "KRO": at[41]})
    assert found == (
        Confirmation("RIN", received_at=at[3], read_at=at[7], done_at=at[30]),
        Confirmation("HOL", received_at=at[4]),
        Confirmation("JEV", received_at=at[6]),
        Confirmation("KRO", last_heard=at[41]),
        Confirmation("SIG", last_heard=at[40]),
    )
    assert [c.level for c in found] == ["UTFØRT", "MOTTATT", "MOTTATT", None, None]
    assert [c.acknowledged for c in found] == [True, False, False, False, False]


def test_the_addressees_of_a_group_a_node_and_a_role() -> None:
    def to(address: Address, origin: str = "MOD") -> tuple[str, ...]:
        return addressees(msg(Kind.MELDING, origin, 1, text="x", to=address), MEMBERS)

    assert to(Address(group="ALLE")) == ("RIN", "HOL", "JEV", "KRO", "SIG", "SF", "POL")  # every store but the origin
    assert to(Address(node="HOL")) == ("HOL",)
    assert to(Address(node="HOL", role="kriseleder")) == ("HOL",)
    assert to(Address(node="MOD")) == ()
