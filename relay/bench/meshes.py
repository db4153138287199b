"""The meshes the sync benchmarks run on (``relay.bench.sync``, ``relay.bench.sync_runs``).

The scenarios shipped in relay/data/scenarios (Modum, the field plan),
connected random geometric meshes fixed by a seed, bursts of sends from
several store nodes, and hop counts over a mesh's links.  The runs call
``shipped`` through this module, so a tool may put another loader in its place
(tools/measure_hops.py plays the field plan with store hills that way).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from relay.core.model import Address, Kind, Priority
from relay.sim import scenario as sc


def shipped(name: str) -> sc.Scenario:
    """A scenario shipped in relay/data/scenarios (``examples/``), by file stem."""
    source = resources.files("relay.data.scenarios").joinpath(f"{name}.toml")
    with resources.as_file(source) as path:
        return sc.load(Path(path))


def modum() -> sc.Scenario:
    return shipped("modum")


def field_plan() -> sc.Scenario:
    """firmware-config's plan: town halls that hear each other only over two radio-only hills."""
    return shipped("field-plan")


def sample_texts() -> list[str]:
    folder = resources.files("relay.data.messages")
    return [
        entry.read_text(encoding="utf-8").strip()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".txt")
    ]


def send_event(at: float, origin: str, text: str, priority: Priority = Priority.PRIORITET) -> sc.Event:
    spec = sc.SendSpec(
        origin=origin,
        kind=Kind.MELDING,
        priority=priority,
        to=Address.parse("ALLE"),
        text=text,
        fields={},
        exercise=True,
        ref=None,
    )
    return sc.Event(at, send=spec)


def burst(
    scenario: sc.Scenario, count: int, seed: int, start: float = 120.0, gap: float = 10.0
) -> tuple[sc.Event, ...]:
    """``count`` messages from distinct store nodes (chosen by ``seed``), ``gap`` seconds apart."""
    rng = random.Random(f"burst/{seed}")
    nodes = list(scenario.store_nodes)
    origins = rng.sample(nodes, min(count, len(nodes)))
    origins += [rng.choice(nodes) for _ in range(count - len(origins))]
    texts = sample_texts()
    return tuple(send_event(start + i * gap, o, texts[(seed + i) % len(texts)]) for i, o in enumerate(origins))


def geometric(n: int, seed: int, degree: float = 6.0) -> sc.Scenario:
    """A connected random geometric mesh of ``n`` store nodes, LONG_FAST, fixed by ``seed``.

    Nodes are uniform in a square sized for ``degree`` neighbours on average
    (range 1); a link's loss grows with distance, 5 % close by to 30 % at the
    edge of range.  Redrawn until connected.
    """
    rng = random.Random(f"geometric/{n}/{seed}")
    side = math.sqrt(n * math.pi / degree)
    ids = [f"N{i:02d}" for i in range(1, n + 1)]
    for _ in range(1000):
        pos = {i: (rng.uniform(0, side), rng.uniform(0, side)) for i in ids}
        links: dict[frozenset[str], float] = {}
        for a_i, a in enumerate(ids):
            for b in ids[a_i + 1 :]:
                d = math.dist(pos[a], pos[b])
                if d <= 1.0:
                    links[frozenset((a, b))] = round(0.05 + 0.25 * d * d, 3)
        if _connected(ids, links):
            break
    else:  # pragma: no cover - 1000 draws of a dense enough mesh
        raise RuntimeError(f"no connected mesh of {n} nodes")
    nodes = tuple(sc.NodeSpec(i, f"Node {i}") for i in ids)
    return sc.Scenario(
        preset=modum().preset,
        seed=seed,
        hop_limit=3,
        duty_cycle=0.10,
        duration=3600.0,
        nodes=nodes,
        links=links,
        name=f"geometric-{n}",
    )


def neighbour_sets(nodes: Iterable[str], links: Iterable[frozenset[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {n: set() for n in nodes}
    for link in links:
        a, b = tuple(link)
        if a in out and b in out:
            out[a].add(b)
            out[b].add(a)
    return out


def hops_from(origin: str, nodes: Iterable[str], links: Iterable[frozenset[str]]) -> dict[str, int]:
    graph = neighbour_sets(nodes, links)
    dist = {origin: 0}
    todo = deque([origin])
    while todo:
        cur = todo.popleft()
        for nxt in graph[cur]:
            if nxt not in dist:
                dist[nxt] = dist[cur] + 1
                todo.append(nxt)
    return dist


def _connected(nodes: list[str], links: Iterable[frozenset[str]]) -> bool:
    return len(hops_from(nodes[0], nodes, links)) == len(nodes)
