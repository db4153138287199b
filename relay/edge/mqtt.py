"""The IP path: the sync's frames through an MQTT broker (paho-mqtt).

Every node publishes its frames, byte for byte as on the radio, to
``TOPIC/NODE`` and subscribes to ``TOPIC/+``.  The broker's ACL lets each node
publish under its own id only (``hw/mosquitto/``), so the topic names the
publisher; the frames still prove themselves as from the air (signatures,
roster, admission per origin).

It is a ``relay.edge.transport.Transport`` like the radio, so the daemon runs
a second ``SyncNode`` over it.  Differences from the radio:

* **No airtime, but a budget.**  The IP ``SyncNode`` counts each frame as
  ``IP_SECONDS_PER_FRAME`` of "airtime" against its duty budget (see
  ``relay.core.sync.config.ip_config``), and frames from one publisher beyond
  ``INBOUND_PER_S`` (burst ``INBOUND_BURST``) are dropped here and counted: a
  captured node's credentials cannot flood the others' CPU and store.
* **Reconnects on its own.**  paho's network thread reconnects with backoff
  (``MIN_BACKOFF_S`` doubling to ``MAX_BACKOFF_S``); a refused login (wrong
  password) is reported in ``problem`` and retried the same way.  The
  radio path never waits for it.
* **QoS 1, MQTT 5, a clean start.**  A frame lost in a reconnect is not lost to
  the region: the sync's summaries find the gap and repair it, as on the air.
* **It cannot fail silently.**  A publish the broker refuses (its ACL) comes
  back as a PUBACK with a reason code (MQTT 5): the path reports
  ``ip_publish_refused`` at once.  A broker that acknowledges and drops
  instead is caught by the echo: we subscribe to our own topic too, and after
  ``NO_ECHO_AFTER`` acknowledged frames without one coming back the path
  reports ``ip_no_echo``.  Either way ``refusing`` is true, and the daemon
  stops counting the stores it hears by IP as reached (the radio serves them).
  ``problem`` is a reason code and its arguments (``relay.texts``), for
  ``relay status``, the board and the journal to say in the node's language.

    mqtt://HOST:PORT     plain (a closed LAN; loopback in the tests)
    mqtts://HOST:PORT    TLS, verified against ``ca_file`` or the system's CAs
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from relay.core.airtime import MAX_APP_PAYLOAD, Preset
from relay.core.model import NODE_ID_RE
from relay.edge.transport import DEFAULT_PRIORITY, Heard
from relay.errors import ConfigError
from relay.texts import Localized, render_problem

log = logging.getLogger("relay.mqtt")

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
KEEPALIVE_S = 30
MIN_BACKOFF_S = 1
MAX_BACKOFF_S = 60
INBOX_MAX = 4096
INBOUND_PER_S = 20.0  # frames a publisher may send us per second, sustained...
INBOUND_BURST = 400.0  # ...after a burst this large (a catch-up after a partition)
MAX_UNACKED = 64  # frames handed to paho and not yet acknowledged by the broker: beyond, "not now"
NO_ECHO_AFTER = 8  # acknowledged frames of ours, none of them heard back: the broker drops them
REFUSING = ("ip_publish_refused", "ip_no_echo")  # the broker takes us in but not what we publish


@dataclass(frozen=True)
class BrokerUrl:
    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "mqtts"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_broker(text: str) -> BrokerUrl:
    """``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]``; a clear error otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(f"ugyldig megleradresse {text!r}: bruk mqtt://VERT:PORT eller mqtts://VERT:PORT")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigError(f"ugyldig port i megleradressen {text!r}") from None
    return BrokerUrl(parts.scheme, parts.hostname, port)


def topic_of(region_id: str) -> str:
    """The region's topic root: ``relay/`` and the roster's region id (``Roster.region_id``),
    the one name the broker's ACL (``relay.deploy.broker``) is written from too."""
    return f"relay/{region_id}"


@dataclass(frozen=True)
class IpSettings:
    broker: BrokerUrl
    topic: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None


class _Bucket:
    """A token bucket per publisher (monotonic clock)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens: dict[str, tuple[float, float]] = {}

    def take(self, who: str, now: float) -> bool:
        tokens, at = self.tokens.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        ok = tokens >= 1.0
        self.tokens[who] = (tokens - 1.0 if ok else tokens, now)
        return ok


def _reason(code: Any) -> dict[str, Any]:
    """A paho ``ReasonCode`` as the problem's ``reason`` (its value and protocol name)."""
    return {"value": int(getattr(code, "value", 0x80)), "name": str(code)}


class MqttTransport:
    """An MQTT broker as the daemon's ``Transport``."""

    def __init__(
        self, settings: IpSettings, node_id: str, wake: threading.Event | None = None, mqtt5: bool = True
    ) -> None:
        """``mqtt5`` False: MQTT 3.1.1, for a broker without 5 (a refused publish is then found by the echo)."""
        self.settings = settings
        self.node_id = node_id
        self.modem: Preset | None = None  # no radio: the IP sync has its own notion of cost
        self.dropped = 0  # frames dropped because the daemon fell behind
        self.refused: dict[str, int] = {}  # publisher -> frames over its budget, or malformed
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self._wake = wake
        self._inbox: queue.Queue[Heard] = queue.Queue(maxsize=INBOX_MAX)
        self._bucket = _Bucket(INBOUND_PER_S, INBOUND_BURST)
        self._lock = threading.Lock()
        self._connected = False
        self._closing = False
        self._problem: dict[str, Any] | None = self._make("ip_connecting")
        self._unacked: set[int] = set()
        self._early: set[int] = set()  # acknowledged before ``send`` recorded them
        self._unechoed = 0  # frames the broker acknowledged since one of ours came back
        self._mqtt5 = mqtt5
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"relay-{settings.topic.removeprefix('relay/')}-{node_id}",  # one Pi may follow two regions
            protocol=paho.MQTTv5 if mqtt5 else paho.MQTTv311,
            clean_session=None if mqtt5 else True,
        )
        client.reconnect_delay_set(MIN_BACKOFF_S, MAX_BACKOFF_S)
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.broker.tls:
            client.tls_set(ca_certs=settings.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        self._client = client

    @property
    def own_topic(self) -> str:
        return f"{self.settings.topic}/{self.node_id}"

    # --- the Transport protocol -------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def link_detail(self) -> str | None:
        """The problem in English, for the developer's log (``problem`` is what operators see)."""
        return render_problem(self._problem, "en") if self._problem is not None else None

    @property
    def problem(self) -> dict[str, Any] | None:
        """Why the path does not carry frames: ``{"code": ..., "params": {...}}`` (``relay.texts``), or None."""
        return self._problem

    @property
    def refusing(self) -> bool:
        """Connected, but the broker does not pass on what we publish."""
        return self._problem is not None and self._problem["code"] in REFUSING

    def _make(self, code: str, **params: Any) -> dict[str, Any]:
        return {"code": code, "params": {"broker": str(self.settings.broker), **params}}

    def _report(self, code: str, **params: Any) -> None:
        problem = self._make(code, **params)
        if problem != self._problem:  # once per problem, not on every retry
            log.warning("IP: %s", Localized(render_problem(problem, "nb"), render_problem(problem, "en")))
        self._problem = problem

    def start(self) -> None:
        """Connect in the background; paho's thread reconnects with backoff for as long as we run."""
        broker = self.settings.broker
        try:
            # MQTT 5: a clean start; 3.1.1 has its clean session from the client's constructor.
            if self._mqtt5:
                self._client.connect_async(broker.host, broker.port, keepalive=KEEPALIVE_S, clean_start=True)
            else:
                self._client.connect_async(broker.host, broker.port, keepalive=KEEPALIVE_S)
        except (OSError, ValueError):  # a name that does not resolve is retried like a refusal
            self._problem = self._make("ip_unreachable")
        self._client.loop_start()

    def send(self, frame: bytes, hop_limit: int, priority: int = DEFAULT_PRIORITY, want_ack: bool = False) -> bool:
        """Publish one frame (QoS 1).  False: not now (disconnected, or the broker is behind)."""
        del hop_limit, priority  # every subscriber is one hop away; the broker keeps no queue order
        if len(frame) > MAX_APP_PAYLOAD or not self._connected:
            return False
        with self._lock:
            if len(self._unacked) >= MAX_UNACKED:
                return False
        # Not under our lock: paho calls _on_publish holding its own, which publish() takes too.
        # Never retained: the region's broker refuses it (retain_available false), and a frame is news once.
        info = self._client.publish(self.own_topic, frame, qos=1, retain=False)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            return False
        with self._lock:
            if info.mid in self._early:  # acknowledged before we got here
                self._early.discard(info.mid)
            else:
                self._unacked.add(info.mid)
        self.frames_out += 1
        self.bytes_out += len(frame)
        return True

    def receive(self, timeout: float) -> Heard | None:
        """The next frame, waiting up to ``timeout`` s; its ``publisher`` names whose topic it came on."""
        try:
            return self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(Exception):
            self._client.disconnect()
        with contextlib.suppress(Exception):
            self._client.loop_stop()
        self._connected = False

    def counters(self) -> dict[str, Any]:
        """For the status snapshot."""
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "refused": sum(self.refused.values()),
            "dropped": self.dropped,
        }

    # --- paho's thread --------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._connected = False
            self._report("ip_login_refused", user=self.settings.username or self.node_id, reason=_reason(reason))
            return
        client.subscribe(f"{self.settings.topic}/+", qos=1)
        with self._lock:
            self._unacked.clear()
            self._early.clear()
            self._unechoed = 0
        self._connected = True
        self._problem = None
        log.info("IP: connected to %s, topic %s", self.settings.broker, self.settings.topic)
        self._poke()

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        was = self._connected
        self._connected = False
        if was and not self._closing:
            self._problem = self._make("ip_lost", reason=_reason(reason))
            log.warning("IP: lost the broker %s (%s); reconnecting with backoff", self.settings.broker, reason)
        self._poke()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._report("ip_unreachable")

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            if mid in self._unacked:
                self._unacked.discard(mid)
            else:
                self._early.add(mid)
            if reason.is_failure:  # MQTT 5: the broker says why it did not take the frame
                self._report("ip_publish_refused", topic=self.own_topic, reason=_reason(reason))
            else:
                self._unechoed += 1
                if self._unechoed >= NO_ECHO_AFTER and not self.refusing:
                    self._report("ip_no_echo", topic=self.own_topic, count=self._unechoed)
                elif self._problem is not None and self._problem["code"] == "ip_publish_refused":
                    self._cleared()
        self._poke()

    def _cleared(self) -> None:
        log.info("IP: the broker takes what we publish on %s again", self.own_topic)
        self._problem = None

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        publisher = message.topic.rsplit("/", 1)[-1]
        if publisher == self.node_id:  # our own frame, back from the broker: it passes them on
            with self._lock:
                self._unechoed = 0
                if self.refusing:
                    self._cleared()
            return
        payload = bytes(message.payload)
        if not NODE_ID_RE.match(publisher) or not 0 < len(payload) <= MAX_APP_PAYLOAD:
            self._refuse(publisher, "malformed")
            return
        if not self._bucket.take(publisher, time.monotonic()):
            self._refuse(publisher, "over its budget")
            return
        self.frames_in += 1
        self.bytes_in += len(payload)
        self._deliver(Heard(payload, publisher=publisher))

    def _refuse(self, publisher: str, why: str) -> None:
        count = self.refused.get(publisher, 0) + 1
        self.refused[publisher] = count
        if count == 1 or count % 100 == 0:
            log.warning("IP: dropped %d frame(s) published as %r (%s)", count, publisher[:16], why)

    def _deliver(self, heard: Heard) -> None:
        while True:
            try:
                self._inbox.put_nowait(heard)
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._inbox.get_nowait()
                    self.dropped += 1
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()
