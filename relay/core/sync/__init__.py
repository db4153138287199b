"""Store-and-forward sync between town halls: a sans-IO state machine.

``node.SyncNode`` is one node's protocol over its store; ``peers.Peers`` is its
view of who it hears and how far away (the hop limits of its frames come from
it); ``config`` holds the settings and the ``Transmission`` it hands the radio.
"""

from relay.core.sync.config import RANK_CONTROL, SyncConfig, Transmission, data_rank
from relay.core.sync.node import Received, SyncNode, SyncStats
from relay.core.sync.peers import Peers

__all__ = ["RANK_CONTROL", "Peers", "Received", "SyncConfig", "SyncNode", "SyncStats", "Transmission", "data_rank"]
