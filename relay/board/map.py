"""The region as a schematic map drawn by the page itself: inline SVG, no tiles, nothing loaded.

Pure: sites at their coordinates (``firmware-config/region.toml``), the planned
radio paths between them, the hilltop repeaters as hills; each site coloured
by its worst critical function, with the level in words too, and when it was
last heard.  A plain equirectangular projection is enough at 60° N over
50 km (the x axis shrinks by cos(latitude)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from relay.core.model import Level
from relay.core.picture import Picture

WIDTH, HEIGHT, MARGIN = 1000, 640, 90
SEVERITY = {Level.ROD: 3, Level.GUL: 2, Level.UKJENT: 1, Level.GRONN: 0}
FILL = {Level.ROD: "#a50f15", Level.GUL: "#7a5200", Level.UKJENT: "#4a4a4a", Level.GRONN: "#0b6e2e"}
SILENT = "#ffffff"


@dataclass(frozen=True)
class MapSite:
    id: str
    name: str
    kind: str  # town_hall | repeater | portable
    lat: float
    lon: float
    links: tuple[str, ...] = ()


def worst(picture: Picture) -> dict[str, Level]:
    """Each node's worst critical function in the picture (nodes that never reported are absent)."""
    out: dict[str, Level] = {}
    for (node, _), cell in picture.cells.items():
        if node not in out or SEVERITY[cell.level] > SEVERITY[out[node]]:
            out[node] = cell.level
    return out


def _project(sites: Sequence[MapSite]) -> dict[str, tuple[float, float]]:
    mid = math.cos(math.radians(sum(s.lat for s in sites) / len(sites)))
    xs = [s.lon * mid for s in sites]
    ys = [s.lat for s in sites]
    span = max(max(xs) - min(xs), 1e-6), max(max(ys) - min(ys), 1e-6)
    scale = min((WIDTH - 2 * MARGIN) / span[0], (HEIGHT - 2 * MARGIN) / span[1])
    return {
        s.id: (MARGIN + (s.lon * mid - min(xs)) * scale, HEIGHT - MARGIN - (s.lat - min(ys)) * scale) for s in sites
    }


def svg(
    sites: Sequence[MapSite], levels: Mapping[str, Level], heard: Mapping[str, str], title: str, lang: str = "nb"
) -> str:
    """The map as one inline ``<svg>``; ``heard`` is each node's «sist hørt» text."""
    en = lang == "en"
    if not sites:
        return (
            "<p>No sites with coordinates in the region file.</p>"
            if en
            else ("<p>Ingen steder med koordinater i regionfilen.</p>")
        )
    at = _project(sites)
    lines = []
    for site in sites:
        for other in site.links:
            if other in at:
                (x1, y1), (x2, y2) = at[site.id], at[other]
                lines.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" class="link"/>')
    marks = [
        _hill(s, at[s.id]) if s.kind == "repeater" else _site(s, at[s.id], levels, heard, _crowded(s.id, at), en)
        for s in sites
    ]
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="map-title" class="map">'
        f'<title id="map-title">{escape(title)}</title>'
        f"<g>{''.join(lines)}</g>{''.join(marks)}</svg>"
    )


def _crowded(site: str, at: Mapping[str, tuple[float, float]]) -> bool:
    """Is another site just to the right of ``site``, where its label would go?"""
    x, y = at[site]
    return any(0 < ox - x < 140 and abs(oy - y) < 30 for other, (ox, oy) in at.items() if other != site)


def _hill(site: MapSite, xy: tuple[float, float]) -> str:
    x, y = xy
    name = site.name.removeprefix("Repeater ").split(" (")[0]
    return (
        f'<g class="hill"><polygon points="{x - 16:.0f},{y + 12:.0f} {x:.0f},{y - 16:.0f} {x + 16:.0f},{y + 12:.0f}"/>'
        f'<text x="{x:.0f}" y="{y - 24:.0f}" text-anchor="middle">{escape(name)}</text></g>'
    )


def _site(
    site: MapSite,
    xy: tuple[float, float],
    levels: Mapping[str, Level],
    heard: Mapping[str, str],
    left: bool,
    en: bool,
) -> str:
    x, y = xy
    level = levels.get(site.id)
    fill = FILL[level] if level else SILENT
    word = level.value if level else ("not reported" if en else "ikke rapportert")
    last = f"{'last heard' if en else 'sist hørt'} {heard.get(site.id, 'never' if en else 'aldri')}"
    tx, anchor = (x - 20, "end") if left else (x + 20, "start")
    return (
        f'<g class="site" data-node="{escape(site.id)}"><circle cx="{x:.0f}" cy="{y:.0f}" r="14" fill="{fill}"/>'
        f'<text x="{tx:.0f}" y="{y - 4:.0f}" text-anchor="{anchor}" class="id">{escape(site.id)} {escape(word)}</text>'
        f'<text x="{tx:.0f}" y="{y + 14:.0f}" text-anchor="{anchor}">{escape(last)}</text></g>'
    )


STYLE = """
.map { width: 100%; height: auto; max-height: 80vh; background: #f4f7fa; border: 1px solid #999; }
.map .link { stroke: #3d5a80; stroke-width: 2; stroke-dasharray: 6 4; }
.map .hill polygon { fill: #6b5b3e; } .map circle { stroke: #111; stroke-width: 2; }
.map text { font: 15px system-ui, sans-serif; fill: #111; paint-order: stroke; stroke: #f4f7fa; stroke-width: 4px; }
.map text.id { font-weight: 700; }
"""


def page(body: str, title: str, lang: str = "nb") -> str:
    """The map's own page: the board's header, the SVG and its legend."""
    en = lang == "en"
    heading = f"{'Map' if en else 'Kart'} – {escape(title)}"
    explained = (
        "Colour: the worst critical function. Dashed: a planned radio path. Triangle: a hilltop repeater."
        if en
        else "Farge: verste kritiske funksjon. Stiplet: planlagt radiovei. Trekant: repeater på høydedrag."
    )
    legend = "".join(
        f'<li><svg width="16" height="16" aria-hidden="true"><circle cx="8" cy="8" r="7" fill="{fill}" stroke="#111"/>'
        f"</svg> {escape(word)}</li>"
        for word, fill in [
            ("RØD", FILL[Level.ROD]),
            ("GUL", FILL[Level.GUL]),
            ("GRØNN", FILL[Level.GRONN]),
            ("UKJENT", FILL[Level.UKJENT]),
            ("not reported" if en else "ikke rapportert", SILENT),
        ]
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{heading}</title><style>{STYLE}"
        "body { margin: 0; font: 16px/1.4 system-ui, sans-serif; color: #111; }"
        "header { padding: .5em 1em; background: #1b2a3a; color: #fff; } h1 { font-size: 1.3em; margin: 0; }"
        "main { padding: 1em; } .legend { display: flex; flex-wrap: wrap; gap: .3em 1.5em; list-style: none;"
        " padding: 0; }</style></head>"
        f"<body><header><h1>{heading}</h1></header><main>{body}<p>{explained}</p>"
        f'<ul class="legend">{legend}</ul></main></body></html>\n'
    )
