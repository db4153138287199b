"""The IP path cannot fail silently: a broker that refuses us is reported, in nb and en.

Real mosquitto on loopback and real ``relay daemon`` processes with no radio:
the issue's first case is a broker whose ACL was written for another region
id, so that every publish is denied while the login works; the second, a
wrong password.  ``relay status`` must say so within 30 s, in the operator's
language, and an IP-only node must not say that the radio carries everything.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from relay.edge.mqtt import NO_ECHO_AFTER, IpSettings, MqttTransport, parse_broker
from relay.texts import render_problem
from tests.broker import Broker
from tests.iplab import IpDaemons, configure_ip
from tests.test_cli import ok, relay_cli
from tests.test_daemon import _wait_for, make_homes

PASSWORDS = {"SF": "fylket-hemmelig", "RIN": "ringerike-hemmelig"}


def status(home: Path, *lang: str) -> list[str]:
    return ok(relay_cli(*lang, "status", home=home))


def test_a_node_whose_publishes_the_broker_denies_says_so_within_30_s(tmp_path: Path) -> None:
    homes = make_homes(tmp_path / "homes", ("SF", "RIN"))  # the roster's region id: testregionen
    broker = Broker(tmp_path / "broker", PASSWORDS, "relay/ringerike")  # an ACL for another region
    broker.start()
    daemons = IpDaemons(tmp_path / "logs")
    try:
        configure_ip(homes["SF"], broker.url, PASSWORDS["SF"])
        started = time.monotonic()
        daemons.start("SF", homes["SF"], env={**os.environ, "RELAY_LANG": "nb"})
        warning = (
            "ADVARSEL: IP-veien (megleren) virker ikke: megleren avviser det noden publiserer på"
            " relay/testregionen/SF: ikke autorisert; meglerens ACL er ikke skrevet fra dette rosteret:"
            " kjør «relay broker config» og legg filene på megleren; noden har ingen radio, så ingenting"
            " sendes eller mottas før den virker"
        )
        _wait_for(lambda: warning in status(homes["SF"].path), 30, "relay status to warn")
        assert time.monotonic() - started < 30
        lines = status(homes["SF"].path)
        assert any(line.startswith("IP:        tilkoblet, men megleren sender ikke videre") for line in lines)
        assert not any("radioen bærer alt" in line for line in lines)
        english = status(homes["SF"].path, "--lang", "en")
        assert (
            "WARNING: the IP path (the broker) is not working: the broker refuses what this node publishes on"
            " relay/testregionen/SF: not authorized; the broker's ACL was not written from this roster: run"
            " «relay broker config» and put the files on the broker; this node has no radio, so nothing is sent"
            " or received until it works"
        ) in english
        assert "megleren avviser det noden publiserer" in daemons.log("SF")  # the journal, in the node's language
        assert "relay[SF]: startet: node SF, radio ingen, IP mqtt://" in daemons.log("SF")  # every line of it
    finally:
        daemons.stop()
        broker.stop()


def test_a_wrong_password_is_reported_in_status_in_both_languages(tmp_path: Path) -> None:
    homes = make_homes(tmp_path / "homes", ("SF", "RIN"))
    broker = Broker(tmp_path / "broker", PASSWORDS, "relay/testregionen")
    broker.start()
    daemons = IpDaemons(tmp_path / "logs")
    try:
        configure_ip(homes["SF"], broker.url, "feil-passord")
        daemons.start("SF", homes["SF"], env={**os.environ, "RELAY_LANG": "en"})
        login = f"the broker {broker.url} refuses the login as SF: not authorized"
        _wait_for(lambda: any(login in line for line in status(homes["SF"].path, "--lang", "en")), 30, "the warning")
        nb = status(homes["SF"].path)
        assert (
            f"ADVARSEL: IP-veien (megleren) virker ikke: megleren {broker.url} avviser innloggingen som SF:"
            " ikke autorisert; sjekk passordfilen ([ip] password_file) og at megleroppsettet er skrevet fra dette"
            " rosteret («relay broker config»); noden har ingen radio, så ingenting sendes eller mottas før den"
            " virker"
        ) in nb
        assert login in daemons.log("SF")  # RELAY_LANG=en: the journal in English
    finally:
        daemons.stop()
        broker.stop()


@contextmanager
def sending_over_mqtt311(base: Path, acl_topic: str, frames: int) -> Iterator[MqttTransport]:
    """SF on a broker whose ACL is for ``acl_topic``, over MQTT 3.1.1 (where a denied publish
    is acknowledged like any other), after it published ``frames`` frames."""
    broker = Broker(base / "broker", PASSWORDS, acl_topic)
    broker.start()
    settings = IpSettings(parse_broker(broker.url), "relay/testregionen", "SF", PASSWORDS["SF"])
    sf = MqttTransport(settings, "SF", threading.Event(), mqtt5=False)
    sf.start()
    try:
        _wait_for(lambda: sf.connected, 10, "SF on the broker")
        time.sleep(0.2)  # the subscription acknowledged
        for n in range(frames):
            _wait_for(lambda n=n: sf.send(b"\x01frame %d" % n, 0), 5, "the broker to take a frame")
        yield sf
    finally:
        sf.close()
        broker.stop()


def test_a_broker_without_mqtt5_that_drops_our_frames_is_caught_by_the_missing_echo(tmp_path: Path) -> None:
    with sending_over_mqtt311(tmp_path, "relay/ringerike", NO_ECHO_AFTER) as sf:
        _wait_for(lambda: sf.refusing, 10, "the missing echo to be noticed")
        assert sf.problem is not None
        assert render_problem(sf.problem, "en") == (
            f"the broker has not sent back any of the last {NO_ECHO_AFTER} frames this node published on"
            " relay/testregionen/SF: it probably refuses them (ACL); run «relay broker config» and put the files"
            " on the broker"
        )


def test_an_echo_keeps_a_working_path_quiet(tmp_path: Path) -> None:
    with sending_over_mqtt311(tmp_path, "relay/testregionen", 3 * NO_ECHO_AFTER) as sf:
        time.sleep(0.5)
        assert not sf.refusing and sf.problem is None
