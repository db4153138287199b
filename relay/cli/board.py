"""``relay board``: the situation board, served from this node's store."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import click

from relay.cli.context import LOCAL_TZ, home, settings, tr
from relay.errors import ConfigError


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(
            tr(
                f"ugyldig --listen {text!r} (bruk VERT:PORT, f.eks. 0.0.0.0:8080)",
                f"invalid --listen {text!r} (use HOST:PORT, e.g. 0.0.0.0:8080)",
            )
        )
    return host.strip("[]"), number


@click.command("board")
@click.option(
    "--listen", default="127.0.0.1:8080", show_default=True, help="VERT:PORT; annet enn loopback krever token."
)
@click.option(
    "--exercise/--real", "exercise", default=None, help="ØVELSE- eller REELL-bildet (standard: nodens innstilling)."
)
@click.option("--demo", is_flag=True, help="Vis en demo-region (Modum-øvelsen) i stedet for nodens lager.")
@click.option("--allow-host", multiple=True, metavar="NAVN", help="Et vertsnavn til som siden kan nås under.")
def board(listen: str, exercise: bool | None, demo: bool, allow_host: tuple[str, ...]) -> None:
    """Vis situasjonsbildet som en nettside (kun lesing), fra nodens eget lager."""
    import tempfile

    from relay.board.server import serve
    from relay.edge.home import Home

    if demo:
        from importlib import resources

        from relay.cli import demo_region

        workdir = tempfile.TemporaryDirectory(prefix="relay-board-demo-")  # removed when the board stops
        with resources.as_file(resources.files("relay.data.scenarios").joinpath("modum.toml")) as scenario:
            root = click.get_current_context().find_root().command
            assert isinstance(root, click.Group)
            h = Home(demo_region.build(root, Path(workdir.name), Path(scenario)))
    else:
        h = home()
    host, port = _listen(listen)
    mode = h.config().exercise if exercise is None else exercise
    try:
        server = serve(h, host, port, mode, LOCAL_TZ or UTC, "en" if settings().lang == "en" else None, allow_host)
    except OSError as exc:
        raise ConfigError(
            tr(f"kan ikke lytte på {listen}: {exc.strerror}", f"cannot listen on {listen}: {exc.strerror}")
        ) from None
    click.echo(tr(f"Situasjonsbildet: {server.url}", f"Situation board: {server.url}"), nl=True)
    try:
        server.serve_forever()  # until SIGTERM or SIGINT
    finally:
        server.server_close()


COMMANDS = (board,)
