"""What every part of the daemon shares: its paths, clocks and state (``DaemonBase``).

The daemon is one class built in layers: ``DaemonBase`` (here), ``faults.Faults``
(store faults, revocations, alarms, rejected frames), ``status.Reporting`` (the
status snapshot) and ``loop.Daemon`` (the loop: receive, notice, send).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relay.core.roster import Roster
from relay.core.sync import SyncNode, Transmission
from relay.core.sync.outbox import PathOutbox
from relay.edge.store import Store
from relay.edge.transport import Transport

if TYPE_CHECKING:
    pass


@dataclass
class NodePath:
    """One way out of the node (the radio, or IP through a broker): its transport, its
    own ``SyncNode`` over the shared store, and the frame it holds for the transport."""

    name: str  # "radio" or "ip"
    transport: Transport
    sync: SyncNode
    pace: Callable[[int], float]  # seconds the transport is busy with a frame of this length
    outbox: PathOutbox | None = None  # a second path's own outbox (None: the store's)
    held: Transmission | None = None  # polled from the sync, not yet taken by the transport
    free_at: float = 0.0
    frames_heard: int = 0
    frames_sent: int = 0
    link_seen: tuple[bool, str | None] | None = None
    link_since: float = 0.0
    heard: dict[str, float] = field(default_factory=dict)  # IP: node -> when last heard (monotonic)

    @property
    def queued(self) -> list[int]:
        """Transmit ranks of what waits for the transport."""
        return self.sync.queued_ranks() + ([self.held.rank] if self.held is not None else [])


class DaemonBase:
    """The attributes ``loop.Daemon.__init__`` sets, for the layers that read them, and
    the accessors every layer uses."""

    node_id: str
    store: Store
    url: str
    ip_url: str
    clock: Callable[[], float]
    wall: Callable[[], float]
    time_scale: float
    started: float
    radio: NodePath | None
    ip: NodePath | None
    paths: list[NodePath]
    heard: dict[str, dict[str, Any]]
    alarms: list[dict[str, Any]]
    roster_file: Path | None
    store_full: dict[str, Any] | None
    status: dict[str, Any] | None
    _roster_stamp: tuple[int, int] | None
    _status_dirty: bool
    _next_status: float
    _last_status: float
    _rejected_seen: OrderedDict[bytes, None]
    _rejected_log: dict[str, tuple[float, int]]
    _store_full_log: tuple[float, int]

    @property
    def primary(self) -> NodePath:
        """The radio, or IP on a node without one: its sync owns the store's outbox."""
        return self.paths[0]

    @property
    def sync(self) -> SyncNode:
        return self.primary.sync

    @property
    def transport(self) -> Transport:
        return self.primary.transport

    @property
    def frames_heard(self) -> int:
        return sum(p.frames_heard for p in self.paths)

    @property
    def frames_sent(self) -> int:
        return sum(p.frames_sent for p in self.paths)

    @property
    def roster(self) -> Roster:
        return self.sync.roster

    def _date(self, t: float) -> datetime:
        return datetime.fromtimestamp(self.wall_of(t), UTC)

    def wall_of(self, t: float) -> float:
        """The wall-clock time of ``t`` on the monotonic clock, as the wall clock reads now.

        Not simply ``wall()``: a time is dated by the instant it names, so a node heard
        ten minutes ago shows as heard ten minutes ago even after the wall clock stepped.
        """
        return self.wall() + (t - self.clock())
