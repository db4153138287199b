"""``relay daemon``: the configuration read, the transports opened, the loop run until a signal."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from relay.core.roster import Roster
from relay.core.sync import SyncConfig
from relay.edge.home import Home, NodeConfig
from relay.errors import ConfigError

if TYPE_CHECKING:
    from relay.edge.mqtt import IpSettings

from relay.daemon.journal import journal
from relay.daemon.loop import Daemon, scaled_config

log = logging.getLogger("relay.daemon")


def node_sync_config(config: NodeConfig) -> SyncConfig:
    """The sync settings of relay.toml: the hop limit overrides (None: the sync chooses) and the radio's limit."""
    return SyncConfig(flood_hops=config.relay_hops, routine_hops=config.routine_hops, max_hops=config.max_hops)


def serve(
    home: Home,
    radio: str | None = None,
    *,
    broker: str | None = None,
    time_scale: float = 1.0,
    verbose: bool = False,
) -> int:
    """``relay daemon``: run until SIGTERM/SIGINT.  0 on a clean stop, 1 on a fatal error.

    ``radio`` "none": IP only.  ``broker`` overrides ``[ip] broker`` of relay.toml.
    Configuration errors (no radio, no roster, a key the roster does not list, a
    broker address or password file that cannot be used) raise ``ConfigError``
    before anything starts, so the CLI prints one line and exits 1, and systemd
    restarts the unit once they are fixed.
    """
    from relay.edge import radio as radio_mod

    config = home.config()
    radio_text = radio or config.radio
    signer = home.signer()
    roster = home.roster()
    ip_settings = _ip_settings(config, broker, roster)
    if radio_text is None and ip_settings is None:
        _no_radio()
    url = None if radio_text is None or radio_text.strip().lower() == "none" else radio_mod.parse_url(radio_text)
    if url is None and ip_settings is None:
        raise ConfigError(code="radio_none_needs_ip")
    entry = roster.active(config.node_id)
    if entry is None or entry.public_key != signer.public_key:
        raise ConfigError(code="roster_lacks_own_key", version=roster.version, node=config.node_id)
    if time_scale <= 0:
        raise ConfigError(code="time_scale_not_positive")
    with journal(config.node_id, verbose):
        store = home.store()
        wake = threading.Event()
        transport = None if url is None else radio_mod.MeshtasticTransport(url, config.channel_index, wake=wake)
        ip = None
        if ip_settings is not None:
            from relay.edge.mqtt import MqttTransport

            ip = MqttTransport(ip_settings, config.node_id, wake)
        sync_config = scaled_config(time_scale, node_sync_config(config))
        for name in ("relay_hops", "routine_hops"):
            if getattr(config, name) is not None:
                log.warning(
                    "%s = %s in %s overrides the hop limits the sync chooses; delete it unless on purpose",
                    name,
                    getattr(config, name),
                    home.config_path,
                )
        daemon = Daemon(
            config.node_id,
            signer,
            store,
            roster,
            transport,
            ip=ip,
            wake=wake,
            ip_url=str(ip_settings.broker) if ip_settings is not None else "",
            url=str(url) if url is not None else "",
            time_scale=time_scale,
            config=sync_config,
            roster_file=home.roster_path,
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            daemon.stop(signal.Signals(signum).name)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for started in (transport, ip):
                if started is not None:
                    started.start()
            daemon.run()
        except Exception as exc:
            log.critical("fatal: %s: %s", type(exc).__name__, exc, exc_info=True)
            daemon.stop(f"fatal: {type(exc).__name__}")
            code = 1
        finally:
            try:
                daemon.shutdown()
            except Exception as exc:
                log.error("while stopping: %s: %s", type(exc).__name__, exc)
                code = 1
            store.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return code


def _no_radio() -> str:
    raise ConfigError(
        "ingen radio oppgitt: bruk --radio serial:///dev/ttyACM0 eller tcp://HOST:4403, eller sett radio i relay.toml"
        " (--radio none og --broker URL: bare IP)"
    )


def _ip_settings(config: NodeConfig, broker: str | None, roster: Roster) -> IpSettings | None:
    """The IP path from ``[ip]`` and ``--broker`` (which overrides its broker); None without a broker."""
    from relay.edge.mqtt import IpSettings, parse_broker, topic_of

    ip = config.ip
    url = broker or (ip.broker if ip is not None else None)
    if not url:
        return None
    password = None
    if ip is not None and ip.password_file:
        try:
            password = Path(ip.password_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"kan ikke lese passordfilen for megleren {ip.password_file}: {exc}") from None
    ca_file = ip.ca_file if ip is not None else None
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"fant ikke CA-filen for megleren: {ca_file}")
    topic = topic_of(roster.region_id)
    if ip is not None and ip.topic and ip.topic != topic:
        # One source for names: the broker's ACL is written from the roster's region id,
        # so another topic here would have every publish refused.
        raise ConfigError(
            f"[ip] topic = {ip.topic!r} i relay.toml er ikke regionens {topic!r} (fra rosterets region-ID):"
            " fjern topic, megleren og nodene tar navnet fra rosteret"
        )
    return IpSettings(
        parse_broker(url),
        topic,
        (ip.username if ip is not None and ip.username else None) or config.node_id,
        password,
        ca_file,
    )
