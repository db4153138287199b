"""The words of relay's errors, in Norwegian bokmål and English: one entry per reason code.

The core raises an error with a reason code and its arguments
(``relay.errors.RelayError``); ``str()`` of it is the Norwegian text, and the
CLI renders the operator's language (``RelayError.render``).  A template's
``{label}`` is a field's or value's Norwegian name; ``GLOSSARY`` gives the
English one where there is one.
"""

from __future__ import annotations

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
    # The roster
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


def render(code: str, params: Mapping[str, object], lang: str = "nb") -> str:
    """The text of ``code`` with ``params``, in ``lang`` ("nb" or "en")."""
    nb, en = TEXTS[code]
    if lang != "en":
        return nb.format(**params)
    label = params.get("label")
    english = {**params, "label": GLOSSARY.get(str(label), label)} if label is not None else params
    return en.format(**english)
