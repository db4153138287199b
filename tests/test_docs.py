"""The guides, followed to the letter: every ```sh block of README.md and docs/*.md runs here.

Each guide runs from a fresh copy of the clone (the files git tracks, as they
are in the work tree, and this venv as its ``.venv``), in one bash session so that what a block sets (``cd``,
``export``, a shell variable) holds for the blocks after it, with this venv's
``relay`` first on PATH, an empty HOME, and a USB stick: ``/media/usb`` in a
command means ``$HOME/usb``, which holds a roster from a roster authority.

Every command (a line, with its ``\\`` continuations) must exit 0, or the
status its trailing comment names (``# exit 1``).  A ```text block right
after a ```sh block lists lines that the block's output must contain, in
order; ``…`` stands for any text.  A block that cannot run here (a real
radio, systemd, a server that runs until stopped) is preceded by
``<!-- doc-test: skip, REASON -->``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import relay

REPO = Path(relay.__file__).resolve().parents[1]
GUIDES = ("README.md", *sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").glob("*.md")))
SKIP = re.compile(r"^<!-- doc-test: skip, (.+) -->$")
FENCE = re.compile(r"^```(\w*)\s*$")
EXPECTED_EXIT = re.compile(r"#\s*exit (\d+)\s*$")


@dataclass(frozen=True)
class Block:
    line: int  # where the block starts in the guide
    commands: tuple[str, ...]
    expected: tuple[str, ...]  # lines the output must contain, in order
    skip: str | None


def blocks(text: str) -> list[Block]:
    """The ```sh blocks of a guide, with the ```text block after each and its skip marker."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        if fence.group(1) == "sh":
            skip = SKIP.match(lines[i - 1]) if i else None
            after = end + 1
            while after < len(lines) and not lines[after].strip():
                after += 1
            expected: list[str] = []
            if after < len(lines) and lines[after] == "```text":
                close = next(j for j in range(after + 1, len(lines)) if lines[j].startswith("```"))
                expected = [line for line in lines[after + 1 : close] if line.strip()]
            found.append(Block(i + 1, commands(lines[i + 1 : end]), tuple(expected), skip.group(1) if skip else None))
        i = end + 1
    return found


def commands(lines: list[str]) -> tuple[str, ...]:
    """Logical command lines: continuations joined, blank lines and comments dropped."""
    out: list[str] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole and not whole.startswith("#"):
            out.append(whole)
    return tuple(out)


def matches(pattern: str, line: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("…")), line) is not None


def contains_in_order(expected: tuple[str, ...], output: list[str]) -> str | None:
    """None if every expected line matches an output line, in order; else the first that does not."""
    at = 0
    for pattern in expected:
        while at < len(output) and not matches(pattern, output[at]):
            at += 1
        if at == len(output):
            return pattern
        at += 1
    return None


def fresh_clone(target: Path) -> Path:
    """The files git knows (tracked, or new and not ignored), as the work tree has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in git
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, dest)
    return target


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAY_", "LC_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        HOME=str(home),
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        LANG="C.UTF-8",
        RELAY_HOME=str(home / ".local" / "share" / "relay"),  # the default where /var/lib/relay is missing
    )
    return env


def usb_stick(home: Path, env: dict[str, str]) -> None:
    """$HOME/usb/roster.json: the roster a roster authority exported (its guide shows how)."""
    authority = home / "authority-elsewhere"
    for args in (
        ["init", "--node", "SF", "--name", "Statsforvalteren"],
        ["roster", "create"],
        ["roster", "export", str(home / "usb" / "roster.json")],
    ):
        subprocess.run(["relay", "--home", str(authority), *args], env=env, check=True, capture_output=True)


def script(guide: list[Block], out: Path) -> str:
    """One bash session: each command's output and status into OUT/B.C.out and OUT/B.C.rc."""
    parts = ['cd "$CLONE"']
    for b, block in enumerate(guide):
        if block.skip:
            continue
        for c, command in enumerate(block.commands):
            command = command.replace("/media/usb", "$HOME/usb")
            parts.append(f'{{ {command}\n}} >"{out}/{b}.{c}.out" 2>&1 </dev/null; echo $? >"{out}/{b}.{c}.rc"')
    return "\n".join(parts) + "\n"


def test_blocks_are_read_as_written() -> None:
    text = "\n".join(
        [
            "<!-- doc-test: skip, needs a radio -->",
            "```sh",
            "relay daemon",
            "```",
            "```sh",
            "relay send A \\",
            "    --to HOL   # exit 1",
            "# a comment",
            "",
            "relay inbox",
            "```",
            "",
            "```text",
            "Feil: …",
            "```",
        ]
    )
    assert blocks(text) == [
        Block(2, ("relay daemon",), (), "needs a radio"),
        Block(5, ("relay send A      --to HOL   # exit 1", "relay inbox"), ("Feil: …",), None),
    ]
    assert contains_in_order(("a…", "c"), ["x", "abc", "b", "c"]) is None
    assert contains_in_order(("c", "a…"), ["abc", "c"]) == "a…"


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs_as_written(guide: str, tmp_path: Path) -> None:
    guide_blocks = blocks((REPO / guide).read_text(encoding="utf-8"))
    if not any(b.commands and not b.skip for b in guide_blocks):
        pytest.skip(f"{guide} shows no command to run")
    clone = fresh_clone(tmp_path / "clone")
    (clone / ".venv").symlink_to(sys.prefix)  # what ./scripts/demo or ./scripts/test set up
    home = tmp_path / "home"
    (home / "usb").mkdir(parents=True)
    env = environment(home)
    if "/media/usb" in (REPO / guide).read_text(encoding="utf-8"):
        usb_stick(home, env)
    out = tmp_path / "out"
    out.mkdir()
    session = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input=script(guide_blocks, out),
        env={**env, "CLONE": str(clone)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert session.returncode == 0, session.stderr
    for b, block in enumerate(guide_blocks):
        if block.skip:
            continue
        output: list[str] = []
        for c, command in enumerate(block.commands):
            text = (out / f"{b}.{c}.out").read_text(encoding="utf-8")
            status = int((out / f"{b}.{c}.rc").read_text())
            wanted = EXPECTED_EXIT.search(command)
            assert status == (int(wanted.group(1)) if wanted else 0), f"{guide}:{block.line}: {command}\n{text}"
            output += text.splitlines()
        missing = contains_in_order(block.expected, output)
        assert missing is None, f"{guide}:{block.line}: no line like {missing!r} in\n" + "\n".join(output)


def test_every_guide_is_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for guide in GUIDES[1:]:
        assert f"({guide})" in readme, guide
    assert len(readme.splitlines()) <= 150
