"""``relay desk``: serve the staff's desk; ``relay desk user add|list|remove``: its accounts."""

from __future__ import annotations

import ipaddress
import sys
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from relay.cli.board import _listen
from relay.cli.context import LOCAL_TZ, home, now, settings, tr
from relay.errors import ConfigError, LocalError

if TYPE_CHECKING:
    import socket

    from relay.board.map import MapSite


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group("desk", invoke_without_command=True)
@click.option(
    "--listen", default="127.0.0.1:8080", show_default=True, help="VERT:PORT; annet enn loopback gir veggen token."
)
@click.option(
    "--exercise/--real", "exercise", default=None, help="ØVELSE- eller REELL-bildet (standard: nodens innstilling)."
)
@click.option(
    "--session-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=480.0,
    show_default=True,
    help="Hvor lenge en innlogging varer.",
)
@click.option("--allow-host", multiple=True, metavar="NAVN", help="Et vertsnavn til som siden kan nås under.")
@click.option(
    "--region",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Regionfilen med stedenes koordinater, for kartet (standard: firmware-config/region.toml).",
)
@click.pass_context
def desk(
    ctx: click.Context,
    listen: str,
    exercise: bool | None,
    session_minutes: float,
    allow_host: tuple[str, ...],
    region: Path | None,
) -> None:
    """Skrivebordet i nettleseren: skjemaer, kvittering, bistand, loggen og veggskjermen."""
    if ctx.invoked_subcommand is not None:
        return
    from relay.board import guard
    from relay.board.guard import allowed_hosts, lan_address
    from relay.board.server import board_token
    from relay.desk.app import make_app
    from relay.desk.web import Desk

    h = home()
    h.config()
    host, port = _listen(listen)
    lan = not _is_loopback(host)
    state = Desk(
        h,
        LOCAL_TZ or UTC,
        lang="en" if settings().lang == "en" else None,
        exercise=exercise,
        session_lifetime=timedelta(minutes=session_minutes),
        wall_token=board_token(h) if lan else None,
        sites=map_sites(region),
    )
    app = make_app(state)
    app.state.board.picture()  # decode the store once now, not on the first reader's time
    sock = _bind(host, port, listen)
    server = guard.Server(app, sock, allowed_hosts(host, allow_host), lang=state.lang)
    bound = sock.getsockname()[1]
    shown = lan_address() if host in ("", "0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    click.echo(tr(f"Skrivebordet: http://{shown}:{bound}/", f"The desk: http://{shown}:{bound}/"))
    if state.wall_token:
        click.echo(
            tr(
                f"Veggskjermen: http://{shown}:{bound}/wall?token={state.wall_token}",
                f"Wall screen: http://{shown}:{bound}/wall?token={state.wall_token}",
            )
        )
    sys.stdout.flush()
    server.run()


def map_sites(region: Path | None) -> tuple[MapSite, ...]:
    """The sites with coordinates of the region file (the checkout's firmware-config/ by default)."""
    from relay.board.map import MapSite
    from relay.deploy.firmware import load_region

    path = region or Path(__file__).resolve().parents[2] / "firmware-config" / "region.toml"
    if region is None and not path.exists():
        return ()  # an installed package without the checkout: the map says it has no sites
    try:
        plan = load_region(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(tr(f"kan ikke lese {path}: {exc.strerror}", f"cannot read {path}: {exc.strerror}")) from None
    return tuple(
        MapSite(s.id, s.name, s.kind, s.lat, s.lon, s.links)
        for s in plan.sites
        if s.lat is not None and s.lon is not None
    )


def _bind(host: str, port: int, listen: str) -> socket.socket:
    from relay.board import guard

    try:
        return guard.bind(host, port)
    except OSError as exc:
        raise ConfigError(
            tr(f"kan ikke lytte på {listen}: {exc.strerror}", f"cannot listen on {listen}: {exc.strerror}")
        ) from None


@desk.group("user")
def user() -> None:
    """Kontoer på skrivebordet: operatør (leser og skriver) eller leser."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, help="operatør (leser og skriver) eller leser.")
@click.option("--password-stdin", is_flag=True, help="Les passordet fra første linje på stdin.")
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Lag en konto (eller gi en konto nytt passord og ny rolle)."""
    from relay.desk import auth

    parsed = auth.Role.parse(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(tr("Passord", "Password"), hide_input=True, confirmation_prompt=True)
    store = home().desk()
    try:
        auth.add_user(store, name, parsed, password, now())
    finally:
        store.close()
    click.echo(tr(f"Konto {name} ({parsed.value}) er klar.", f"Account {name} ({parsed.value}) is ready."))


@user.command("list")
def user_list() -> None:
    """Kontoene og rollene deres."""
    store = home().desk()
    try:
        for name, role in store.users():
            click.echo(f"{name}\t{role}")
    finally:
        store.close()


@user.command("remove")
@click.argument("name")
def user_remove(name: str) -> None:
    """Slett en konto (og øktene dens)."""
    store = home().desk()
    try:
        if not store.remove_user(name):
            raise LocalError(tr(f"ingen konto {name}", f"no account {name}"))
    finally:
        store.close()
    click.echo(tr(f"Konto {name} er slettet.", f"Account {name} is removed."))


COMMANDS = (desk,)
