"""Logging for systemd: one line per event on stderr, with sd-daemon priority prefixes."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from relay.daemon.words import JOURNAL_NB, PHRASES_NB
from relay.texts import Localized, node_lang

PRIORITIES = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def journal_text(record: logging.LogRecord, lang: str) -> str:
    """A record's text in ``lang``: its template and fixed words from ``JOURNAL_NB`` and
    ``PHRASES_NB`` in nb, a ``Localized`` argument in its ``lang``; as logged otherwise
    (English, DEBUG, a line not in the table)."""
    args = record.args if isinstance(record.args, tuple) else ()
    template = JOURNAL_NB.get(record.msg) if isinstance(record.msg, str) else None
    if lang == "en" or template is None or record.levelno < logging.INFO:
        return record.getMessage()
    said = tuple(
        a.in_lang(lang) if isinstance(a, Localized) else PHRASES_NB.get(a, a) if isinstance(a, str) else a for a in args
    )
    try:
        return template % said if args else template
    except (TypeError, ValueError):  # a template out of step with its call: say it as logged
        return record.getMessage()


class JournalHandler(logging.Handler):
    """Log records as ``<PRIO>relay[NODE]: text`` lines (sd-daemon(3) prefixes), one per line of text,
    in ``lang`` (``journal_text``)."""

    def __init__(self, node_id: str, stream: TextIO, lang: str = "en") -> None:
        super().__init__()
        self.node_id = node_id
        self.stream = stream
        self.lang = lang

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prio = next(p for level, p in sorted(PRIORITIES.items(), reverse=True) if record.levelno >= level)
            text = journal_text(record, self.lang)
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            source = "meshtastic: " if record.name.startswith("meshtastic") else ""
            lines = [line for line in text.splitlines() if line.strip()] or [""]
            self.stream.write("".join(f"<{prio}>relay[{self.node_id}]: {source}{line}\n" for line in lines))
            self.stream.flush()
        except Exception:
            self.handleError(record)


class LogStream(io.TextIOBase):
    """A file that turns what is written to it into log lines (the library prints)."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if line.strip():
                self._logger.log(self._level, line.rstrip())
        return len(text)

    def writable(self) -> bool:
        return True


@contextlib.contextmanager
def journal(
    node_id: str, verbose: bool = False, stream: TextIO | None = None, lang: str | None = None
) -> Iterator[None]:
    """Route logging, the library's prints and stray stderr output to journald-style lines,
    in ``lang`` (default: the node's, RELAY_LANG/LANG, as ``relay status`` and the alarms)."""
    real_stderr = stream or sys.stderr
    handler = JournalHandler(node_id, real_stderr, lang or node_lang())
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), sys.stdout, sys.stderr)
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    library = logging.getLogger("meshtastic")
    library_level = library.level
    library.setLevel(logging.WARNING)  # its INFO and DEBUG are per-packet chatter
    # The library prints errors (util.our_exit, DeferredExecution) and tracebacks (the stream reader).
    sys.stdout = LogStream(logging.getLogger("meshtastic.stdout"), logging.WARNING)
    sys.stderr = LogStream(logging.getLogger("meshtastic.stderr"), logging.ERROR)
    try:
        yield
    finally:
        root.handlers = saved[1]
        root.setLevel(saved[0])
        library.setLevel(library_level)
        sys.stdout, sys.stderr = saved[2], saved[3]
