"""The words of relay's errors, in Norwegian bokmål and English: one entry per reason code.

The core raises an error with a reason code and its arguments
(``relay.errors.RelayError``); ``str()`` of it is the Norwegian text, and the
CLI renders the operator's language (``RelayError.render``).  A template's
``{label}`` is a field's or value's Norwegian name; ``GLOSSARY`` gives the
English one where there is one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TEXTS: dict[str, tuple[str, str]] = {
    # Addresses and ids
    "bad_node_id": (
        "ugyldig node-ID {text!r} (2-8 tegn, A-Z og 0-9, f.eks. MOD)",
        "invalid node ID {text!r} (2-8 characters, A-Z and 0-9, e.g. MOD)",
    ),
    "unknown_role": ("ukjent rolle {text!r} (gyldige: {valid})", "unknown role {text!r} (valid: {valid})"),
    "bad_message_id": (
        "ugyldig meldings-ID {text!r} (forventet f.eks. MOD-0007)",
        "invalid message ID {text!r} (expected e.g. MOD-0007)",
    ),
    "bad_seq_in": ("ugyldig løpenummer i {text!r}", "invalid sequence number in {text!r}"),
    "bad_seq": ("ugyldig løpenummer {seq}", "invalid sequence number {seq}"),
    # Enumerations
    "invalid_value": ("ugyldig {label} {text!r} (gyldige: {valid})", "invalid {label} {text!r} (valid: {valid})"),
    "unknown_value": ("ukjent {label} {text!r} (gyldige: {valid})", "unknown {label} {text!r} (valid: {valid})"),
    # Messages and their fields
    "no_such_field": (
        "{kind} har ikke feltet {name!r} (felter: {known})",
        "{kind} has no field {name!r} (fields: {known})",
    ),
    "fields_missing": ("{kind} mangler: {names}", "{kind} is missing: {names}"),
    "field_missing": ("{kind}: feltet {name} ({label}) mangler", "{kind}: the field {name} ({label}) is missing"),
    "needs_ref": (
        "{kind} må ha referanse (--ref) til meldingen den svarer på",
        "{kind} needs a reference (--ref) to the message it answers",
    ),
    "no_text_field": ("{kind} har ikke et tekstfelt", "{kind} has no text field"),
    "expires_before_created": ("gyldig til er før opprettet", "valid until is before created"),
    "text_too_long": (
        "teksten er for lang: {total} tegn (grense {limit})",
        "the text is too long: {total} characters (limit {limit})",
    ),
    "message_too_large": (
        "meldingen blir {size} byte, mer enn {limit} byte i {packets} radiopakker: forkort teksten",
        "the message would be {size} bytes, more than {limit} bytes in {packets} radio packets: shorten the text",
    ),
    "time_without_zone": ("{label}: tidspunkt uten tidssone", "{label}: a time without a time zone"),
    "time_out_of_range": (
        "{label}: tidspunktet {time} er utenfor gyldig område (sjekk klokken)",
        "{label}: the time {time} is out of range (check the clock)",
    ),
    "expected_text": ("{label}: forventet tekst", "{label}: expected text"),
    "bad_character": ("{label}: ugyldig tegn {char} i teksten", "{label}: invalid character {char} in the text"),
    "expected_integer": (
        "{label}: forventet et heltall, fikk {value!r}",
        "{label}: expected a whole number, got {value!r}",
    ),
    "bad_number": ("{label}: ugyldig tall {value!r}", "{label}: invalid number {value!r}"),
    "expected_yes_no": ("{label}: svar ja eller nei, fikk {value!r}", "{label}: answer yes or no, got {value!r}"),
    "expected_time": ("{label}: forventet et tidspunkt", "{label}: expected a time"),
    "expected_notice": (
        "{label}: forventet {size} byte fra rosterautoriteten",
        "{label}: expected {size} bytes from the roster authority",
    ),
    "bad_time": (
        "ugyldig tidspunkt {text!r} (bruk f.eks. 18:00, i morgen 08:00, +2t, nå)",
        "invalid time {text!r} (use e.g. 18:00, i morgen 08:00, +2h, nå)",
    ),
    "key_not_in_roster": (
        "nøkkelen til {node} står ikke (aktiv) i rosteret: andre noder vil avvise meldingen",
        "{node}'s key is not active in the roster: other nodes would reject the message",
    ),
    "unknown_desk_role": (
        "ukjent rolle {text!r} (gyldige: operatør, leser)",
        "unknown role {text!r} (valid: operatør, leser)",
    ),
    "bad_user_name": ("ugyldig brukernavn {text!r} (ett ord)", "invalid user name {text!r} (one word)"),
    "short_password": (
        "passordet må ha minst {size} tegn",
        "the password must have at least {size} characters",
    ),
    "unknown_node": (
        "ukjent node {node} (noder i rosteret: {nodes})",
        "unknown node {node} (nodes in the roster: {nodes})",
    ),
    "status_rows_form": (
        'STATUS: rader oppgis som {{FUNKSJON = "NIVÅ" eller "NIVÅ: merknad"}}',
        'STATUS: rows are given as {{FUNCTION = "LEVEL" or "LEVEL: note"}}',
    ),
    "status_empty": ("STATUS: minst én funksjon må rapporteres", "STATUS: report at least one function"),
    "status_bad_row": ("STATUS: ugyldig rad", "STATUS: invalid row"),
    "status_twice": ("STATUS: {function} er oppgitt to ganger", "STATUS: {function} is given twice"),
    # A node's home (relay.edge.home, relay.edge.keys)
    "home_taken": (
        "{path} er allerede satt opp for en node (fant {found})",
        "{path} is already set up for a node ({found} exists)",
    ),
    "no_node": ("fant ingen node i {path}: kjør «relay init» først", "no node in {path}: run «relay init» first"),
    "config_damaged": (
        "konfigurasjonsfilen {path} er skadet: {reason}",
        "the configuration file {path} is damaged: {reason}",
    ),
    "config_unknown_key": (
        "konfigurasjonsfilen {where}: ukjent nøkkel {key!r} (gyldige: {known})",
        "the configuration file {where}: unknown key {key!r} (valid: {known})",
    ),
    "config_bad_field": (
        "konfigurasjonsfilen {path} mangler eller har ugyldig felt: {reason}",
        "the configuration file {path} lacks a field or has an invalid one: {reason}",
    ),
    "config_hops_range": (
        "konfigurasjonsfilen {path}: {key} må være 0-7",
        "the configuration file {path}: {key} must be 0-7",
    ),
    "config_hops_over_max": (
        "konfigurasjonsfilen {path}: {key} ({value}) er større enn max_hops ({limit})",
        "the configuration file {path}: {key} ({value}) is larger than max_hops ({limit})",
    ),
    "config_bad_node_id": (
        "konfigurasjonsfilen {path}: ugyldig node_id {node!r}",
        "the configuration file {path}: invalid node_id {node!r}",
    ),
    "config_ip_not_table": (
        "konfigurasjonsfilen {where}: må være en tabell",
        "the configuration file {where}: must be a table",
    ),
    "config_ip_no_broker": (
        "konfigurasjonsfilen {where}: broker mangler (mqtt://VERT:PORT eller mqtts://VERT:PORT)",
        "the configuration file {where}: broker is missing (mqtt://HOST:PORT or mqtts://HOST:PORT)",
    ),
    "store_unopenable": (
        "lageret {path} kan ikke åpnes ({reason}); gjenopprett det fra sikkerhetskopien (hw/README.md)",
        "the store {path} cannot be opened ({reason}); restore it from the backup (hw/README.md)",
    ),
    "no_roster": (
        "noden har ikke noe roster: importer det med «relay roster import FIL»",
        "the node has no roster: import one with «relay roster import FILE»",
    ),
    "roster_unusable": ("rosteret i {path} kan ikke brukes: {reason}", "the roster in {path} cannot be used: {reason}"),
    "roster_not_newer": (
        "rosteret (versjon {version}) er ikke nyere enn det noden har (versjon {current})",
        "the roster (version {version}) is not newer than the node's (version {current})",
    ),
    "key_file_exists": (
        "nøkkelfilen {path} finnes allerede; den overskrives ikke",
        "the key file {path} exists already; it is not overwritten",
    ),
    "key_file_unreadable": ("kan ikke lese nøkkelfilen {path}: {reason}", "cannot read the key file {path}: {reason}"),
    "not_a_key_file": ("{path} er ikke en relay-nøkkelfil", "{path} is not a relay key file"),
    "key_damaged": ("{path}: nøkkelen er skadet", "{path}: the key is damaged"),
    # The daemon and its radio
    "radio_none_needs_ip": (
        "--radio none krever en IP-vei: oppgi --broker URL eller [ip] broker i relay.toml",
        "--radio none needs an IP path: give --broker URL or [ip] broker in relay.toml",
    ),
    "roster_lacks_own_key": (
        "rosteret (versjon {version}) har ikke nøkkelen til {node}: importer et nytt",
        "the roster (version {version}) does not hold {node}'s key: import a new one",
    ),
    "time_scale_not_positive": ("--time-scale må være større enn 0", "--time-scale must be larger than 0"),
    "bad_radio_url": (
        "ugyldig radioadresse {text!r}: bruk serial:///dev/ttyACM0 eller tcp://HOST:4403",
        "invalid radio address {text!r}: use serial:///dev/ttyACM0 or tcp://HOST:4403",
    ),
    # The roster
    "notice_damaged": ("tilbakekallingen er skadet", "the revocation is damaged"),
    "notice_not_signed": (
        "tilbakekallingen er ikke signert av rosterautoriteten",
        "the revocation is not signed by the roster authority",
    ),
    "notice_bad_seq": ("tilbakekallingen har ugyldig løpenummer", "the revocation has an invalid sequence number"),
    "roster_too_large": ("rosterfilen er for stor", "the roster file is too large"),
    "roster_not_json": ("rosterfilen er ikke gyldig JSON", "the roster file is not valid JSON"),
    "not_a_roster": ("filen er ikke et relay-roster", "the file is not a relay roster"),
    "roster_bad_region_id": (
        "rosterfilen har ugyldig eller manglende region_id",
        "the roster file has an invalid or missing region_id",
    ),
    "roster_bad_field": (
        "rosterfilen mangler eller har ugyldig felt: {problem}",
        "the roster file lacks a field or has an invalid one: {problem}",
    ),
    "roster_notices_not_list": ("rosterfilens «notices» er ikke en liste", "the roster file's «notices» is not a list"),
    "roster_notice_not_base64": (
        "en tilbakekalling i rosterfilen er ikke base64",
        "a revocation in the roster file is not base64",
    ),
    "bad_region_id": (
        "ugyldig region-ID {text!r} (1-32 tegn: a-z, 0-9 og bindestrek, f.eks. ringerike)",
        "invalid region ID {text!r} (1-32 characters: a-z, 0-9 and dashes, e.g. ringerike)",
    ),
    "bad_public_key": ("{node}: offentlig nøkkel må være {size} byte", "{node}: a public key must be {size} bytes"),
    "name_missing": ("{node}: navn mangler", "{node}: the name is missing"),
    "key_registered": ("nøkkelen er allerede registrert for {node}", "the key is already registered for {node}"),
    "key_id_collision": (
        "nøkkel-ID {key_id} kolliderer med {other}: lag et nytt nøkkelpar for {node}",
        "key ID {key_id} collides with {other}: make a new key pair for {node}",
    ),
    "no_active_key": ("{node} har ingen aktiv nøkkel i rosteret", "{node} has no active key in the roster"),
    "not_authority": (
        "rosteret kan bare endres med rosterautoritetens nøkkel",
        "the roster can only be changed with the roster authority's key",
    ),
    "wrong_authority": (
        "rosteret er signert av en annen autoritet enn den vi stoler på",
        "the roster is signed by another authority than the one we trust",
    ),
    "bad_roster_signature": (
        "rosterets signatur stemmer ikke (endret eller skadet fil)",
        "the roster's signature does not match (a changed or damaged file)",
    ),
    "key_revoked": ("nøkkelen til {node} er tilbakekalt", "{node}'s key is revoked"),
    "unknown_sender": ("ukjent avsender (nøkkel-ID {key_id})", "unknown sender (key ID {key_id})"),
    # The IP path (``relay.edge.mqtt``): what ``relay status``, the board and the journal say
    "ip_connecting": ("kobler til megleren {broker}", "connecting to the broker {broker}"),
    "ip_unreachable": (
        "når ikke megleren {broker}; prøver igjen",
        "cannot reach the broker {broker}; retrying",
    ),
    "ip_login_refused": (
        "megleren {broker} avviser innloggingen som {user}: {reason}; sjekk passordfilen ([ip] password_file)"
        " og at megleroppsettet er skrevet fra dette rosteret («relay broker config»)",
        "the broker {broker} refuses the login as {user}: {reason}; check the password file ([ip] password_file)"
        " and that the broker's configuration was written from this roster («relay broker config»)",
    ),
    "ip_lost": (
        "mistet forbindelsen til megleren {broker} ({reason}); kobler til igjen",
        "lost the connection to the broker {broker} ({reason}); reconnecting",
    ),
    "ip_publish_refused": (
        "megleren avviser det noden publiserer på {topic}: {reason}; meglerens ACL er ikke skrevet fra dette"
        " rosteret: kjør «relay broker config» og legg filene på megleren",
        "the broker refuses what this node publishes on {topic}: {reason}; the broker's ACL was not written"
        " from this roster: run «relay broker config» and put the files on the broker",
    ),
    "ip_no_echo": (
        "megleren har ikke sendt tilbake noen av de {count} siste rammene noden publiserte på {topic}: den avviser"
        " dem trolig (ACL); kjør «relay broker config» og legg filene på megleren",
        "the broker has not sent back any of the last {count} frames this node published on {topic}: it"
        " probably refuses them (ACL); run «relay broker config» and put the files on the broker",
    ),
    "ip_down_radio_carries": (
        "IP-veien (megleren) virker ikke: {problem}; radioen bærer alt",
        "the IP path (the broker) is not working: {problem}; the radio carries everything",
    ),
    "ip_down_no_radio": (
        "IP-veien (megleren) virker ikke: {problem}; noden har ingen radio, så ingenting sendes eller mottas"
        " før den virker",
        "the IP path (the broker) is not working: {problem}; this node has no radio, so nothing is sent or"
        " received until it works",
    ),
}

# MQTT reason codes (MQTT 5.0, 2.4) the broker gives for a refused login or publish.
REASONS: dict[int, tuple[str, str]] = {
    0x80: ("uspesifisert feil", "unspecified error"),
    0x84: ("megleren kan ikke MQTT 5", "unsupported protocol version"),
    0x85: ("klient-ID-en er ikke gyldig", "client identifier not valid"),
    0x86: ("feil brukernavn eller passord", "bad user name or password"),
    0x87: ("ikke autorisert", "not authorized"),
    0x88: ("megleren er utilgjengelig", "server unavailable"),
    0x89: ("megleren er opptatt", "server busy"),
    0x8A: ("utestengt", "banned"),
    0x8E: ("en annen innlogging tok over", "session taken over"),
    0x90: ("ugyldig emnenavn", "topic name invalid"),
    0x95: ("pakken er for stor", "packet too large"),
    0x97: ("kvoten er brukt opp", "quota exceeded"),
}

# Norwegian names that templates carry as ``{label}``, in English.
GLOSSARY = {
    "meldingstype": "message kind",
    "prioritet": "priority",
    "funksjon": "function",
    "nivå": "level",
    "kvitteringsnivå": "receipt level",
    "svar": "answer",
    "tilstand": "state",
    "rolle": "role",
}


def _in(value: object, lang: str) -> object:
    """A parameter that is itself an error (a reason) reads in the same language."""
    render_in = getattr(value, "render", None)
    return render_in(lang) if callable(render_in) and isinstance(value, Exception) else value


class Localized:
    """A piece of a journal line in both languages: the journal says it in the node's
    (``relay.daemon.journal``); ``str()`` is the English, for any other log handler."""

    def __init__(self, nb: str, en: str) -> None:
        self.nb, self.en = nb, en

    def in_lang(self, lang: str) -> str:
        return self.en if lang == "en" else self.nb

    def __str__(self) -> str:
        return self.en


def node_lang() -> str:
    """The language of a process that has no ``--lang`` (the daemon): RELAY_LANG, else LANG; nb unless en*."""
    env = os.environ.get("RELAY_LANG") or os.environ.get("LANG", "")
    return "en" if env.lower().startswith("en") else "nb"


def reason(value: int, name: str, lang: str = "nb") -> str:
    """An MQTT reason code in words: ours where we have them, else the protocol's (English) name."""
    words = REASONS.get(value)
    return (words[1] if lang == "en" else words[0]) if words else f"{name} (0x{value:02x})"


def render_problem(problem: Mapping[str, object], lang: str = "nb") -> str:
    """A path's problem as its transport reports it (``code``, ``params``; a ``reason`` as value and name)."""
    params = dict(problem.get("params") or {})  # type: ignore[call-overload]
    why = params.get("reason")
    if isinstance(why, Mapping):
        params["reason"] = reason(int(why.get("value", 0x80)), str(why.get("name", "?")), lang)
    return render(str(problem.get("code")), params, lang)


def render(code: str, params: Mapping[str, object], lang: str = "nb") -> str:
    """The text of ``code`` with ``params``, in ``lang`` ("nb" or "en")."""
    nb, en = TEXTS[code]
    params = {k: _in(v, lang) for k, v in params.items()}
    if lang != "en":
        return nb.format(**params)
    label = params.get("label")
    english = {**params, "label": GLOSSARY.get(str(label), label)} if label is not None else params
    return en.format(**english)
