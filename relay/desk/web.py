"""What every desk route shares: the node, the templates, who is asking, and the CSRF check."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from relay.board.map import MapSite
from relay.board.page import choose_lang
from relay.desk import auth
from relay.edge.home import Home
from relay.edge.store.desk import Session

SESSION_COOKIE = "relay_session"
LOGIN_COOKIE = "relay_login"  # the login form's CSRF token, before there is a session
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Desk:
    """One node's desk: its home, the language it was started with, its time zone and clock."""

    home: Home
    zone: tzinfo
    lang: str | None = None  # --lang; None: the browser's Accept-Language
    exercise: bool | None = None
    session_lifetime: timedelta = auth.DEFAULT_SESSION
    wall_token: str | None = None  # the read-only wall's token, when serving the LAN
    secure_cookies: bool = False
    sites: tuple[MapSite, ...] = ()  # the region file's sites with coordinates, for the map
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), trim_blocks=True
        )
        self.env.filters["show"] = self.show

    def show(self, value: object) -> str:
        """A field's value as the staff reads it: times local, levels and answers in words."""
        if isinstance(value, bool):
            return "ja" if value else "nei"
        if isinstance(value, datetime):
            return self.local(value)
        if isinstance(value, Enum):
            return str(value.value)
        if isinstance(value, bytes):
            return f"{len(value)} byte"
        if isinstance(value, tuple):
            return "; ".join(
                f"{row.function.value} {row.level.value}" + (f" ({row.note})" if row.note else "") for row in value
            )
        return str(value)

    def now(self) -> datetime:
        return self.clock()

    def language(self, request: Request) -> str:
        """--lang if given, else the browser's first choice of nb/no/nn or en."""
        return choose_lang(self.lang, request.headers.get("accept-language", ""))

    def local(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%d.%m %H:%M")

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = self.language(request)
        user: Session | None = request.scope.get("relay.session")

        def tr(nb: str, en: str) -> str:
            return en if lang == "en" else nb

        html = self.env.get_template(name).render(
            request=request, lang=lang, _=tr, user=user, local=self.local, csrf=user.csrf if user else "", **context
        )
        return HTMLResponse(html, status_code=status)

    def session(self, request: Request) -> Session | None:
        store = self.home.desk()
        try:
            return auth.session(store, request.cookies.get(SESSION_COOKIE), self.now())
        finally:
            store.close()


def tr(desk: Desk, request: Request, nb: str, en: str) -> str:
    return en if desk.language(request) == "en" else nb


def reader(desk: Desk, request: Request) -> Session:
    """The session of whoever asks; to the login page without one."""
    found = desk.session(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": f"/login?next={_quote(target)}"})
    request.scope["relay.session"] = found
    return found


def operator(desk: Desk, request: Request) -> Session:
    """The session of an operator: a reader may not write (403)."""
    found = reader(desk, request)
    if found.role != auth.Role.OPERATOR.value:
        raise HTTPException(403, tr(desk, request, "Bare operatører kan skrive.", "Only operators may write."))
    return found


async def posted(desk: Desk, request: Request, session: Session) -> FormData:
    """The form, if it carries the session's CSRF token (403 otherwise)."""
    form = await request.form()
    given = form.get("csrf")
    if not auth.same(given if isinstance(given, str) else None, session.csrf):
        raise HTTPException(403, tr(desk, request, "Ugyldig skjema (CSRF).", "Invalid form (CSRF)."))
    return form


def values(form: FormData) -> dict[str, str]:
    """Every text input of a form by name (the CSRF token and the buttons left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "action", "draft")}


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def local_path(target: object) -> str:
    """``target`` if it is a path on this desk, else ``/``: no redirect leaves the desk
    (``//host``, ``/\\host`` and ``https:`` are refused)."""
    if isinstance(target, str) and re.fullmatch(r"/(?:[A-Za-z0-9][A-Za-z0-9/_.\-]*)?(?:\?[^\\\s]*)?", target):
        return target
    return "/"


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(local_path(path), safe="")
