"""The CLI's help in English (``--lang en`` or ``LANG=en*``): each Norwegian help text and its translation.

``apply(group, lang)`` sets every command's and option's help to ``lang``,
keeping the Norwegian originals, so that one process may switch back and forth
(the tests do).  A test checks that every help text has its English here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import click

HELP_EN = {
    "Vis versjonen og avslutt.": "Show the version and exit.",
    "relay: signerte situasjonsrapporter mellom kriseledelser over LoRa-radio.": (
        "relay: signed situation reports between crisis staffs over LoRa radio."
    ),
    "Nodens mappe (standard: RELAY_HOME, /var/lib/relay eller ~/.local/share/relay).": (
        "The node's directory (default: RELAY_HOME, /var/lib/relay or ~/.local/share/relay)."
    ),
    "Språk for grensesnittet (standard: nb, eller LANG).": "Interface language (default: nb, or LANG).",
    "Kvitter for en melding: LEST (lest av operatør) eller UTFØRT.": (
        "Acknowledge a message: LEST (read by an operator) or UTFØRT (done)."
    ),
    "Målinger: størrelse og sendetid.": "Measurements: size and airtime.",
    "Alle målinger i én kjøring: DIR/report.md, PNG-plott og results.json.": (
        "Every measurement in one run: DIR/report.md, PNG plots and results.json."
    ),
    "Mappe for rapporten.": "Directory for the report.",
    "Mappe med .txt-filer i tillegg til de medfølgende eksemplene; kan gjentas.": (
        "A directory of .txt files besides the shipped examples; may be repeated."
    ),
    "Små parametre (sekunder): for å prøve, ikke for tall.": "Small parameters (seconds): to try it, not for figures.",
    "Prosesser for simuleringene.": "Processes for the simulations.",
    "Meldinger i lagertesten (standard: 100 000).": "Messages in the store test (default: 100 000).",
    "Kodet størrelse, antall pakker og LONG_FAST-sendetid per tekst, mot Meshtastic-tekst og LXMF.": (
        "Encoded size, packets and LONG_FAST airtime per text, against Meshtastic text and LXMF."
    ),
    "Mappe med .txt-filer.": "A directory of .txt files.",
    "Skriv ett JSON-dokument.": "Write one JSON document.",
    "MQTT-megleren for IP-veien: oppsettet skrives fra rosteret.": (
        "The IP path's MQTT broker: its configuration is written from the roster."
    ),
    "Mappe.": "Directory.",
    "Rosteret til en region megleren betjener; kan gjentas (standard: nodens eget roster).": (
        "The roster of a region the broker serves; may be repeated (default: the node's own roster)."
    ),
    "Meglerens vertsnavn eller IP-adresse i sertifikatet; kan gjentas.": (
        "The broker's host name or IP address in its certificate; may be repeated."
    ),
    "TLS-porten.": "The TLS port.",
    "Adressen megleren lytter på (standard: alle).": "The address the broker listens on (default: all).",
    "Der filene skal ligge på megleren.": "Where the files go on the broker.",
    "Bro fra denne regionens megler til en annen (føderasjon).": (
        "A bridge from this region's broker to another (federation)."
    ),
    "Passordet for bridge-REGION-ID hos den andre megleren (fra dens secrets/).": (
        "The password of bridge-REGION-ID at the other broker (from its secrets/)."
    ),
    "Den andre meglerens CA (dens certs/ca.pem).": "The other broker's CA (its certs/ca.pem).",
    "Skriv mosquitto-oppsettet: TLS-lytter, ACL, passord, sertifikater og broer, og det hver node trenger.": (
        "Write the mosquitto configuration: TLS listener, ACL, passwords, certificates and bridges,"
        " and what each node needs."
    ),
    "Regionens ID for maskiner (a-z, 0-9, bindestrek): megleremner, ACL, innlogginger. Standard: fra navnet.": (
        "The region's id for machines (a-z, 0-9, dash): broker topics, ACL, logins. Default: from the name."
    ),
    "VERT:PORT; annet enn loopback gir veggen token.": "HOST:PORT; anything but loopback gives the wall a token.",
    "Hvor lenge en innlogging varer.": "How long a login lasts.",
    "Regionfilen med stedenes koordinater, for kartet (standard: firmware-config/region.toml).": (
        "The region file with the sites' coordinates, for the map (default: firmware-config/region.toml)."
    ),
    "Et vertsnavn til som siden kan nås under.": "One more host name the page may be reached under.",
    "Skrivebordet i nettleseren: skjemaer, kvittering, bistand, loggen og veggskjermen.": (
        "The desk in the browser: forms, receipts, assistance, the log and the wall screen."
    ),
    "Kontoer på skrivebordet: operatør (leser og skriver) eller leser.": (
        "Accounts of the desk: operatør (reads and writes) or leser (reads)."
    ),
    "operatør (leser og skriver) eller leser.": "operatør (reads and writes) or leser (reads).",
    "Les passordet fra første linje på stdin.": "Read the password from the first line of stdin.",
    "Lag en konto (eller gi en konto nytt passord og ny rolle).": (
        "Make an account (or give an account a new password and role)."
    ),
    "Kontoene og rollene deres.": "The accounts and their roles.",
    "Slett en konto (og øktene dens).": "Remove an account (and its sessions).",
    "Vis situasjonsbildet som en nettside (kun lesing), fra nodens eget lager.": (
        "Show the situation picture as a web page (read only), from the node's own store."
    ),
    "VERT:PORT; annet enn loopback krever token.": "HOST:PORT; anything but loopback requires the token.",
    "ØVELSE- eller REELL-bildet (standard: nodens innstilling).": (
        "The ØVELSE (exercise) or REELL (real) picture (default: the node's setting)."
    ),
    "Vis en demo-region (Modum-øvelsen) i stedet for nodens lager.": (
        "Show a demo region (the Modum exercise) instead of the node's store."
    ),
    "Broen: sender det lageret har over radio og IP, lagrer det som høres (for systemd; logger til stderr).": (
        "The bridge: sends what the store holds over radio and IP, stores what is heard (for systemd; logs to stderr)."
    ),
    "serial:///dev/ttyACM0, tcp://HOST:4403, eller none for bare IP (standard: fra relay.toml).": (
        "serial:///dev/ttyACM0, tcp://HOST:4403, or none for IP only (default: from relay.toml)."
    ),
    "MQTT-megleren for IP-veien, mqtt://VERT:PORT eller mqtts://VERT:PORT (overstyrer [ip] broker i relay.toml).": (
        "The MQTT broker of the IP path, mqtt://HOST:PORT or mqtts://HOST:PORT (overrides [ip] broker in relay.toml)."
    ),
    "Logg også hver ramme som sendes og høres.": "Also log every frame sent and heard.",
    "Kjør protokollens tidtakere N ganger fortere: bare mot «relay hw-sim --speedup N», med samme N.": (
        "Run the protocol's timers N times faster: only against «relay hw-sim --speedup N», with the same N."
    ),
    "Spill av Modum-øvelsen: åtte noder, Modum avskåret i to timer, så samlet igjen.": (
        "Play the Modum exercise: eight nodes, Modum cut off for two hours, then joined again."
    ),
    "Skriv simulatorens JSON-rapport.": "Write the simulator's JSON report.",
    "Sekunder mellom linjene (standard: 0,03 på terminal).": "Seconds between lines (default: 0.03 on a terminal).",
    "Øvelsen (modum) eller regionens radioplan med repeatere på fjellet (field-plan).": (
        "The exercise (modum) or the region's radio plan with repeaters on the hills (field-plan)."
    ),
    "Sjekk lageret og flytt skadde meldinger til karantene (sletter ingenting).": (
        "Check the store and move damaged messages to quarantine (deletes nothing)."
    ),
    "Bare sjekk; flytt ingenting.": "Only check; move nothing.",
    "Radioens Meshtastic-oppsett: lag per node fra regionfilen, lag kanalnøkkel, skriv til radioen.": (
        "The radio's Meshtastic set-up: render per node from the region file, make the channel key, write to the radio."
    ),
    "Skriv nodens oppsett til radioen med «meshtastic --configure» (stopp relay-tjenesten først).": (
        "Write the node's set-up to the radio with «meshtastic --configure» (stop the relay service first)."
    ),
    "Radioens serieport, f.eks. /dev/meshtastic eller /dev/ttyACM0.": (
        "The radio's serial port, e.g. /dev/meshtastic or /dev/ttyACM0."
    ),
    "Kanalnøkkelen (fra «relay firmware keygen»).": "The channel key (from «relay firmware keygen»).",
    "Sjekk og vis kommandoen, men ikke skriv til radioen.": "Check and show the "
    "command, but do not write to the radio.",
    "Lag regionens kanalnøkkel (AES-256) i FIL, modus 0600. Én gang for hele regionen; aldri i git.": (
        "Make the region's channel key (AES-256) in FILE, mode 0600. Once for the whole region; never in git."
    ),
    "Lag én YAML-fil per node (for «meshtastic --configure») og sjekk dem mot protobufene og reglene.": (
        "Render one YAML file per node (for «meshtastic --configure») and check them against the protobufs and rules."
    ),
    "Mappe for én YAML-fil per node.": "Directory for one YAML file per node.",
    "Simulerte Meshtastic-enheter på loopback, én per node, over det delte radiomediet.\n\n"
    'Skriver én JSON-linje per enhet, {"node": ..., "tcp": "127.0.0.1:PORT", "pty": ... eller null},\n'
    "og kjører til SIGTERM eller SIGINT.  Etter replug skrives enhetens linje på nytt.": (
        "Simulated Meshtastic devices on loopback, one per node, over the shared radio medium.\n\n"
        'Writes one JSON line per device, {"node": ..., "tcp": "127.0.0.1:PORT", "pty": ... or null},\n'
        "and runs until SIGTERM or SIGINT.  After a replug the device's line is written again."
    ),
    "Scenariofil: [mesh], [[node]] og [[link]] brukes.": "Scenario file: [mesh], [[node]] and [[link]] are used.",
    "Simulerte sekunder per sekund på veggklokka (sendetid og driftssyklus skaleres).": (
        "Simulated seconds per wall-clock second (airtime and duty cycle scale)."
    ),
    "Gi hver enhet også en pseudoterminal (SerialInterface).": "Also give each "
    "device a pseudo-terminal (SerialInterface).",
    "Unix-socket for styring, én kommando per linje: unplug NODE, replug NODE, partition NODE, heal NODE, status.": (
        "Unix socket for control, one command a line: unplug NODE, replug NODE, partition NODE, heal NODE, status."
    ),
    "Innkomne meldinger: uleste først, så etter prioritet.": "Incoming messages: unread first, then by priority.",
    "Bare denne typen.": "Only this kind.",
    "Bare fra denne noden.": "Only from this node.",
    "Bare denne prioriteten.": "Only this priority.",
    "Høyst så mange (0: alle).": "At most this many (0: all).",
    "Opprett nodens mappe: konfigurasjon, nøkkelpar og tomt lager.": (
        "Create the node's directory: configuration, key pair and an empty store."
    ),
    "Node-ID, f.eks. MOD.": "Node ID, e.g. MOD.",
    "Visningsnavn, f.eks. «Modum kommune».": "Display name, e.g. «Modum kommune».",
    "Radio: serial:///dev/ttyACM0 eller tcp://HOST:4403.": "Radio: serial:///dev/ttyACM0 or tcp://HOST:4403.",
    "Merk all trafikk fra noden som ØVELSE.": "Mark all traffic from the node as ØVELSE (exercise).",
    "Øvelser: sett opp en hel region på én maskin.": "Exercises: set up a whole region on one machine.",
    "Én klar nodemappe per node i scenariet (DIR/RIN, DIR/HOL, …), felles roster.": (
        "One ready node directory per node of the scenario (DIR/RIN, DIR/HOL, …), one shared roster."
    ),
    "Ikke merk trafikken som ØVELSE.": "Do not mark the traffic as ØVELSE (exercise).",
    "Krisesloggen: alle meldinger i tidsrekkefølge, med verifisering og kvitteringer.": (
        "The crisis log: every message in time order, with verification and receipts."
    ),
    "Skriv til fil.": "Write to a file.",
    "Skriv loggen som JSON.": "Write the log as JSON.",
    "Svar på en anmodning om bistand (BISTANDSSVAR).": "Answer a request for assistance (BISTANDSSVAR).",
    "INNVILGET, DELVIS, AVSLÅTT eller VIDERESENDT.": (
        "INNVILGET (granted), DELVIS (partly), AVSLÅTT (refused) or VIDERESENDT (passed on)."
    ),
    "Hva dere tilbyr.": "What you offer.",
    "Ankomst, f.eks. 17:00 eller +2h.": "Arrival, e.g. 17:00 or +2h.",
    "Kontaktperson/rolle.": "Contact person/role.",
    "Vilkår (valgfritt).": "Conditions (optional).",
    "Standard: samme som anmodningen.": "Default: the same as the request.",
    "Regionens liste over godkjente noder og nøkler.": "The region's list of approved nodes and keys.",
    "Legg til en node (ny versjon av rosteret).": "Add a node (a new version of the roster).",
    "kommune, statsforvalter, politi, brann, annet": "kommune, statsforvalter, politi, brann, annet (the node's role)",
    "Nodens offentlige nøkkel (base64, fra «relay init»).": "The node's public key (base64, from «relay init»).",
    "Bli rosterautoritet: lag autoritetsnøkkel og et tomt roster (versjon 1).": (
        "Become the roster authority: make the authority key and an empty roster (version 1)."
    ),
    "Skriv rosteret til en fil (f.eks. på en minnepinne).": "Write the roster to a file (e.g. on a USB stick).",
    "Ta i bruk et roster fra fil; krever kjent autoritet og nyere versjon.": (
        "Take a roster from a file into use; needs the known authority and a newer version."
    ),
    "Tilbakekall nodens nøkkel (f.eks. stjålet Pi); del det nye rosteret.": (
        "Revoke the node's key (e.g. a stolen Pi); share the new roster."
    ),
    "Siste ekte løpenummer fra noden, om det er kjent: senere numre avvises, også tilbakedaterte.": (
        "The node's last genuine sequence number, if known: later numbers are refused, back-dated ones too."
    ),
    "Vis rosteret noden bruker.": "Show the roster the node uses.",
    "Skriv, signer og legg en melding i utboksen.  TYPE: SITREP, STATUS, BISTAND, …\n\n"
    "På en terminal spør den etter prioritet, mottaker og hvert felt som mangler, viser meldingen\n"
    "før den signeres, og lagrer et utkast ved Ctrl-C eller «nei» (fortsett med --resume).": (
        "Write, sign and put a message in the outbox.  TYPE: SITREP, STATUS, BISTAND, …\n\n"
        "On a terminal it asks for the priority, the addressee and every missing field, shows the message\n"
        "before it is signed, and keeps a draft on Ctrl-C or «nei» (continue with --resume)."
    ),
    "ALLE, KOMMUNER, node (HOL) eller rolle@node (standard: ALLE; spørres på terminal).": (
        "ALLE (all), KOMMUNER (municipalities), a node (HOL) or role@node (default: ALLE; asked on a terminal)."
    ),
    "NØD, HASTER, PRIORITET eller RUTINE (standard: RUTINE; spørres på terminal).": (
        "NØD (distress, or EMERGENCY), HASTER (URGENT), PRIORITET (PRIORITY) or RUTINE (ROUTINE)"
        " (default: RUTINE; asked on a terminal)."
    ),
    "Et felt (nøkkel eller norsk navn); kan gjentas.": "A field (its key or Norwegian name); may be repeated.",
    "Fortsett det siste utkastet (etter Ctrl-C eller «nei»).": "Continue the last draft (after Ctrl-C or «nei»).",
    "Standard: HASTER for en NØD eller HASTER, ellers RUTINE.": "Default: HASTER for a NØD or HASTER, else RUTINE.",
    "ØVELSE eller REELL (standard: nodens innstilling).": (
        "ØVELSE (exercise) or REELL (real) (default: the node's setting)."
    ),
    "Meldingen denne svarer på, f.eks. MOD-0007.": "The message this answers, e.g. MOD-0007.",
    "Hovedteksten.": "The main text.",
    "Hovedteksten fra fil.": "The main text from a file.",
    "Hendelse.": "Incident.",
    "Godkjent av, f.eks. kriseleder.": "Approved by, e.g. the crisis manager.",
    "Ikke spør før sending.": "Do not ask before sending.",
    "Alle felt, verifisering og kvitteringer for én melding (markeres som lest).": (
        "Every field, the verification and the receipts of one message (marked as read)."
    ),
    "Simulert radionett i virtuell tid.": "A simulated radio mesh in virtual time.",
    "Kjør et scenario og vis hva som skjer, minutt for minutt.": "Run a scenario "
    "and show what happens, minute by minute.",
    "Skriv én JSON-rapport i stedet for tidslinjen.": "Write one JSON report instead of the timeline.",
    "Radiolenke, sist hørt, sendekø, sendetid, og hvem som har meldingene sendt herfra.": (
        "Radio link, last heard, transmit queue, airtime, and who holds the messages sent from here."
    ),
}

_ORIGINAL = "_relay_help_nb"


def _texts(group: click.Command) -> list[object]:
    """Every command and parameter under ``group`` that has a help text."""
    found: list[object] = [group, *group.params]
    if isinstance(group, click.Group):
        for command in group.commands.values():
            found += _texts(command)
    return found


# click's own words in its help pages (it asks gettext for them when it draws a page)
CLICK_NB = {
    "Usage:": "Bruk:",
    "Options": "Valg",
    "Commands": "Kommandoer",
    "Show this message and exit.": "Vis denne hjelpen og avslutt.",
    "default: {default}": "standard: {default}",
    "required": "påkrevd",
    "env var: {var}": "miljøvariabel: {var}",
}


def _click_words(lang: str) -> None:
    """click's headings and its --help option in ``lang``: its modules look up ``_`` when they
    draw a help page, so it is set there (English is click's own)."""
    import gettext

    import click.core
    import click.decorators
    import click.formatting

    def norwegian(message: str) -> str:
        return CLICK_NB.get(message, gettext.gettext(message))

    words = gettext.gettext if lang == "en" else norwegian
    for module in (click.core, click.decorators, click.formatting):
        module._ = words  # type: ignore[attr-defined]
    _metavars(lang)


# The placeholders on a help page (an option's value, the usage line's arguments): click's
# own are English (its types' names, [OPTIONS], COMMAND [ARGS]...), ours Norwegian where
# written so (NAVN=VERDI, VERT:PORT).  Each word is said in the page's language.
METAVAR_NB = {
    "INTEGER RANGE": "HELTALL",
    "FLOAT RANGE": "TALL",
    "INTEGER": "HELTALL",
    "FLOAT": "TALL",
    "TEXT": "TEKST",
    "FILENAME": "FIL",
    "FILE": "FIL",
    "FILES": "FILER",
    "DIRECTORY": "MAPPE",
    "PATH": "STI",
    "BOOLEAN": "JA/NEI",
    "OPTIONS": "VALG",
    "COMMAND": "KOMMANDO",
    "ARGS": "ARGUMENTER",
    "NAME": "NAVN",
    "NODE_ID": "NODE-ID",
    "HOST": "VERT",
    "VALUE": "VERDI",
}
METAVAR_EN = {
    "NAVN": "NAME",
    "VERDI": "VALUE",
    "VERT": "HOST",
    "FIL": "FILE",
    "FILER": "FILES",
    "TEKST": "TEXT",
    "MAPPE": "DIRECTORY",
}
_METAVAR_WORD = re.compile(r"INTEGER RANGE|FLOAT RANGE|[A-ZÆØÅ][A-ZÆØÅ_]*")
_metavar_lang = ["nb"]  # the language ``_metavars`` last set: click's methods read it when they draw a page


def metavar_in(text: str, lang: str) -> str:
    """A placeholder (``FILE``, ``[OPTIONS]``, ``NAVN=VERDI``) with each word in ``lang``."""
    table = METAVAR_EN if lang == "en" else METAVAR_NB
    return _METAVAR_WORD.sub(lambda m: table.get(m.group(0), m.group(0)), text)


def _metavars(lang: str) -> None:
    """Make click say its placeholders in ``lang``: its methods that make them are wrapped once,
    and read the language set last (as ``_`` above, one setting for the process)."""
    import click.core

    _metavar_lang[0] = lang
    if getattr(click.core.Parameter.make_metavar, "_relay", False):
        return
    for cls, name in (
        (click.core.Parameter, "make_metavar"),
        (click.core.Argument, "make_metavar"),
        (click.core.Command, "collect_usage_pieces"),
        (click.core.Group, "collect_usage_pieces"),
    ):
        if name in vars(cls):
            setattr(cls, name, _said(vars(cls)[name]))


def _said(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapped(self: object, ctx: click.Context) -> Any:
        made = method(self, ctx)
        if isinstance(made, str):
            return metavar_in(made, _metavar_lang[0])
        return [metavar_in(piece, _metavar_lang[0]) for piece in made]

    wrapped._relay = True  # type: ignore[attr-defined]
    return wrapped


def apply(group: click.Command, lang: str) -> None:
    """Set the help of ``group``, its commands and their options to ``lang`` ("nb" or "en")."""
    _click_words(lang)
    for item in _texts(group):
        if isinstance(item, click.Command):
            item._help_option = None  # made again, in ``lang``, when a help page is drawn
        nb = getattr(item, _ORIGINAL, None)
        if nb is None:
            nb = getattr(item, "help", None)
            if not nb:
                continue
            setattr(item, _ORIGINAL, nb)
        item.help = HELP_EN.get(_clean(nb), nb) if lang == "en" else nb  # type: ignore[attr-defined]


def _clean(text: str) -> str:
    """A help text as the table keys it: docstring indentation and trailing space removed."""
    import inspect

    return inspect.cleandoc(text)


def lang_of(args: list[str]) -> str | None:
    """``--lang X`` or ``--lang=X`` among the arguments, if given."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None
