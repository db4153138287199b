"""``relay`` entry point: command groups and the one place errors become text."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from relay.errors import RelayError


class RelayFailure(click.ClickException):
    """One line on stderr, «Feil: …» (or «Error: …» with --lang en), exit status 1."""

    def __init__(self, message: str, prefix: str) -> None:
        super().__init__(message)
        self.prefix = prefix

    def show(self, file: object = None) -> None:
        click.echo(f"{self.prefix}: {self.format_message()}", err=True)


class RelayGroup(click.Group):
    """Maps every RelayError, and a store that cannot be written, to one clear line on stderr and exit status 1;
    shows the help in the operator's language."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        from relay.cli import english
        from relay.cli.context import detect_lang

        argv = list(sys.argv[1:] if args is None else args)
        lang = detect_lang(english.lang_of(argv))
        self.lang = lang
        english.apply(self, lang)  # before --help, which is eager, prints it; the rest as loaded
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, False, **kwargs)
        try:
            returned = super().main(argv, prog_name, complete_var, False, **kwargs)
        except click.exceptions.Abort:  # Ctrl-C or end of input at a prompt: no «Aborted!»
            click.echo(_in(lang, "Avbrutt.", "Interrupted."), err=True)
            sys.exit(EXIT_INTERRUPTED)
        except RelayFailure as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # click's own: a bad option, a missing argument, a file
            click.echo(f"{_in(lang, 'Feil', 'Error')}: {click_error(exc, lang)}", err=True)
            sys.exit(1)
        sys.exit(returned if isinstance(returned, int) else 0)  # click.exceptions.Exit comes back as its code

    lang = "nb"  # the operator's language, known once main() has read the arguments

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            import importlib

            from relay.cli import english

            for command in importlib.import_module(LAZY_COMMANDS[cmd_name]).COMMANDS:
                english.apply(command, self.lang)
                self.add_command(command)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        from relay.cli.context import settings, tr

        try:
            return super().invoke(ctx)
        except RelayError as exc:  # a reason code renders in the operator's language
            raise RelayFailure(exc.render(settings().lang), tr("Feil", "Error")) from None
        except Exception as exc:
            from relay.edge.store import StoreError  # not at import: --help stays fast

            if isinstance(exc, StoreError):
                raise RelayFailure(_store_error(exc), tr("Feil", "Error")) from None
            raise


EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it


def _in(lang: str, nb: str, en: str) -> str:
    return en if lang == "en" else nb


# click's own words for a bad value, in Norwegian (the English stays click's)
_CLICK_NB = (
    (re.compile(r"^(?:File|Directory|Path) '(.+)' does not exist\.$"), r"fant ikke \1"),
    (re.compile(r"^'(.+)': No such file or directory$"), r"fant ikke \1"),
    (re.compile(r"^(?:File|Path) '(.+)' is a directory\.$"), r"\1 er en mappe, ikke en fil"),
    (re.compile(r"^'(.*)' is not a valid (?:integer|integer range)\.$"), r"'\1' er ikke et heltall"),
    (re.compile(r"^'(.*)' is not a valid float(?: range)?\.$"), r"'\1' er ikke et tall"),
    (re.compile(r"^'(.*)' is not one of (.+)\.$"), r"'\1' er ikke en av \2"),
    (re.compile(r"^'(.*)' is not (.+)\.$"), r"'\1' er ikke \2"),
    (re.compile(r"^(.+) is not in the range (.+)\.$"), r"\1 er utenfor \2"),
    (re.compile(r"^No such command '(.+)'\.$"), r"ukjent kommando '\1'"),
    (re.compile(r"^Got unexpected extra arguments? \((.+)\)$"), r"uventet argument: \1"),
    (re.compile(r"^Option '(.+)' requires an argument\.$"), r"valget \1 må ha en verdi"),
)


def _nb(message: str) -> str:
    for pattern, words in _CLICK_NB:
        if pattern.match(message):
            return pattern.sub(words, message)
    return message


def click_error(exc: click.ClickException, lang: str) -> str:
    """One of click's own errors as one line in the operator's language, with where to find help."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "relay"
    hint = _in(lang, f" (se «{command} --help»)", f" (see «{command} --help»)")
    if isinstance(exc, click.exceptions.NoSuchOption):
        return _in(lang, f"ukjent valg {exc.option_name}", f"no such option {exc.option_name}") + hint
    if isinstance(exc, click.exceptions.MissingParameter) and exc.param is not None:
        name = exc.param.get_error_hint(ctx) if ctx is not None else str(exc.param.name)
        return _in(lang, f"{name} mangler", f"{name} is missing") + hint
    if isinstance(exc, click.exceptions.FileError):
        reason = exc.message
        return _in(lang, f"kan ikke åpne {exc.ui_filename}: {_nb(reason)}", f"cannot open {exc.ui_filename}: {reason}")
    if isinstance(exc, click.exceptions.BadParameter) and exc.param is not None and ctx is not None:
        name = exc.param.get_error_hint(ctx)
        message = exc.message
        return _in(lang, f"ugyldig verdi for {name}: {_nb(message)}", f"invalid value for {name}: {message}") + hint
    if isinstance(exc, click.UsageError):
        return _in(lang, _nb(exc.format_message()), exc.format_message()) + hint
    return exc.format_message()


def _store_error(exc: Exception) -> str:
    from relay.cli.context import tr
    from relay.edge.store import is_full

    if is_full(exc):
        return tr(
            "lageret er fullt (disken er full): meldingen ble ikke lagret; frigjør plass og prøv igjen",
            "the store is full (the disk is full): the message was not stored; free some space and try again",
        )
    return tr(f"lageret kunne ikke skrives: {exc}", f"the store could not be written: {exc}")


@click.group(cls=RelayGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="relay", help="Vis versjonen og avslutt.")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RELAY_HOME",
    help="Nodens mappe (standard: RELAY_HOME, /var/lib/relay eller ~/.local/share/relay).",
)
@click.option("--lang", type=click.Choice(["nb", "en"]), help="Språk for grensesnittet (standard: nb, eller LANG).")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, lang: str | None) -> None:
    """relay: signerte situasjonsrapporter mellom kriseledelser over LoRa-radio."""
    from relay.cli.context import Settings, detect_lang
    from relay.edge.paths import default_home

    ctx.obj = Settings(home or default_home(), detect_lang(lang))


@cli.group()
def bench() -> None:
    """Målinger: størrelse og sendetid."""


@bench.command("size")
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Mappe med .txt-filer.")
@click.option("--json", "as_json", is_flag=True, help="Skriv ett JSON-dokument.")
def bench_size(files: tuple[Path, ...], corpus: Path | None, as_json: bool) -> None:
    """Kodet størrelse, antall pakker og LONG_FAST-sendetid per tekst, mot Meshtastic-tekst og LXMF."""
    from relay.bench import size

    paths = list(files) + ([corpus] if corpus else [])
    texts = size.files_in(paths) if paths else size.shipped_messages()
    if not texts:
        raise click.ClickException("fant ingen .txt-filer")
    report = size.size_report(texts)
    s: dict[str, Any] = report["summary"]  # type: ignore[assignment]
    if s["lxmf"] != "measured":
        click.echo(f"LXMF ikke målt: {s['lxmf']}; feltene lxmf_* er null.", err=True)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{'fil':<28} {'tekst B':>8} {'wire B':>7} {'pakker':>6} {'sendetid s':>10} "
        f"{'Mesh.tekst B':>12} {'LXMF B':>7} {'LXMF s':>7}"
    )
    for row in report["files"]:  # type: ignore[attr-defined]
        lxmf = f"{row['lxmf_bytes']:>7} {row['lxmf_airtime_s']:>7.3f}" if row["lxmf_bytes"] else f"{'-':>7} {'-':>7}"
        click.echo(
            f"{Path(row['file']).name:<28} {row['text_bytes']:>8} {row['wire_bytes']:>7} "
            f"{row['packets']:>6} {row['airtime_s']:>10.3f} {row['meshtastic_text_bytes']:>12} {lxmf}"
        )
    line = (
        f"\n{s['files']} filer, {s['one_packet_fraction']:.0%} i én pakke, "
        f"median wire/tekst {s['median_wire_over_text']:.3f}"
    )
    if s["median_ratio_vs_lxmf"] is not None:
        line += f", median wire/LXMF {s['median_ratio_vs_lxmf']:.3f} (sendetid {s['median_airtime_ratio_vs_lxmf']:.3f})"
    click.echo(line)


@bench.command("all")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Mappe for rapporten."
)
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Mappe med .txt-filer i tillegg til de medfølgende eksemplene; kan gjentas.",
)
@click.option("--quick", is_flag=True, help="Små parametre (sekunder): for å prøve, ikke for tall.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Prosesser for simuleringene."
)
@click.option("--store-messages", type=click.IntRange(min=8), help="Meldinger i lagertesten (standard: 100 000).")
def bench_all(out_dir: Path, corpora: tuple[Path, ...], quick: bool, workers: int, store_messages: int | None) -> None:
    """Alle målinger i én kjøring: DIR/report.md, PNG-plott og results.json."""
    from relay.bench import report

    cfg = report.main_config(report.default_corpora(list(corpora)), quick, workers, store_messages)
    results = report.run(cfg, report.stderr_progress)
    for path in report.write(results, out_dir):
        click.echo(str(path))
    for target in results["targets"]:
        verdict = {True: "OK", False: "IKKE NÅDD", None: "ikke målt"}[target["met"]]
        click.echo(f"{verdict:>10}  {target['target']}: {target['measured']}")
    click.echo(f"Kjøretid {results['elapsed_s']['total']:.0f} s.")


@cli.group()
def sim() -> None:
    """Simulert radionett i virtuell tid."""


@sim.command("run")
@click.argument("scenario_file", metavar="SCENARIO.toml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Skriv én JSON-rapport i stedet for tidslinjen.")
def sim_run(scenario_file: Path, as_json: bool) -> None:
    """Kjør et scenario og vis hva som skjer, minutt for minutt."""
    from relay.sim import scenario as scenario_mod
    from relay.sim.report import print_legend, print_summary, timeline_printer
    from relay.sim.runner import Simulation

    scenario = scenario_mod.load(scenario_file)
    if not as_json:
        print_legend(scenario, click.echo)
    simulation = Simulation(scenario, timeline=None if as_json else timeline_printer(click.echo))
    report = simulation.run()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_summary(report, scenario, click.echo)


@cli.command("hw-sim")
@click.option(
    "--scenario",
    "scenario_file",
    required=True,
    metavar="FILE.toml",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scenariofil: [mesh], [[node]] og [[link]] brukes.",
)
@click.option(
    "--speedup",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Simulerte sekunder per sekund på veggklokka (sendetid og driftssyklus skaleres).",
)
@click.option("--pty", "use_pty", is_flag=True, help="Gi hver enhet også en pseudoterminal (SerialInterface).")
@click.option(
    "--control",
    "control_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Unix-socket for styring, én kommando per linje: unplug NODE, replug NODE, partition NODE, heal NODE, status.",
)
def hw_sim(scenario_file: Path, speedup: float, use_pty: bool, control_path: Path | None) -> None:
    """Simulerte Meshtastic-enheter på loopback, én per node, over det delte radiomediet.

    Skriver én JSON-linje per enhet, {"node": ..., "tcp": "127.0.0.1:PORT", "pty": ... eller null},
    og kjører til SIGTERM eller SIGINT.  Etter replug skrives enhetens linje på nytt.
    """
    import asyncio

    from relay.hwsim.server import serve  # the only command that imports meshtastic (its protobufs)
    from relay.sim import scenario as scenario_mod

    scenario = scenario_mod.load(scenario_file)
    if speedup != 1.0:  # stdout is the endpoints' JSON: the pairing goes to stderr
        click.echo(
            f"relay hw-sim: mediet går {speedup:g} ganger fortere; start daemonene med --time-scale {speedup:g}",
            err=True,
        )
    asyncio.run(serve(scenario, speedup, use_pty, control_path, lambda endpoint: click.echo(endpoint.to_json())))


@cli.command("daemon")
@click.option(
    "--radio",
    metavar="URL",
    help="serial:///dev/ttyACM0, tcp://HOST:4403, eller none for bare IP (standard: fra relay.toml).",
)
@click.option(
    "--broker",
    metavar="URL",
    help="MQTT-megleren for IP-veien, mqtt://VERT:PORT eller mqtts://VERT:PORT (overstyrer [ip] broker i relay.toml).",
)
@click.option("--verbose", "-v", is_flag=True, help="Logg også hver ramme som sendes og høres.")
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    help="Kjør protokollens tidtakere N ganger fortere: bare mot «relay hw-sim --speedup N», med samme N.",
)
def daemon(radio: str | None, broker: str | None, verbose: bool, time_scale: float) -> None:
    """Broen: sender det lageret har over radio og IP, lagrer det som høres (for systemd; logger til stderr)."""
    from relay import daemon as daemon_mod
    from relay.cli.context import home

    code = daemon_mod.serve(home(), radio, broker=broker, time_scale=time_scale, verbose=verbose)
    if code:
        raise click.exceptions.Exit(code)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Skriv ett JSON-dokument.")
def status(as_json: bool) -> None:
    """Radiolenke, sist hørt, sendekø, sendetid, og hvem som har meldingene sendt herfra."""
    import time

    from relay import daemon as daemon_mod
    from relay.cli.context import LOCAL_TZ, home, settings

    lang = settings().lang
    report = daemon_mod.status_report(home(), time.time(), daemon_mod.clock_synchronised(), lang)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in daemon_mod.render_status(report, LOCAL_TZ, settings().lang):
        click.echo(line)


# The module of every top-level command defined outside this file, imported when that command
# runs or when the help lists them all: «relay inbox» then imports neither the board, the desk
# nor the firmware tools (relay --help and relay inbox start in at most 0.2 s, issue 25).
# tests/test_cli.py checks this table against each module's COMMANDS.
LAZY_COMMANDS = {
    **dict.fromkeys(("init", "roster", "lab"), "relay.cli.node"),
    **dict.fromkeys(("send", "inbox", "show", "ack", "reply"), "relay.cli.traffic"),
    **dict.fromkeys(("log", "demo"), "relay.cli.logbook"),
    "firmware": "relay.cli.firmware",
    "doctor": "relay.cli.doctor",
    "board": "relay.cli.board",
    "desk": "relay.cli.desk",
    "broker": "relay.cli.broker",
}


def main() -> None:
    cli(prog_name="relay")
    sys.exit(0)
