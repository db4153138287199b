"""``relay bench``: the benchmarks.  The CLI imports a module of this package only when a
``relay bench`` command runs, and this file imports none of them.

* ``size``: wire size, packets and airtime of text messages beside plain
  Meshtastic text and LXMF (``relay bench size``);
* ``lxmf``: what LXMF puts on the air for a text (needs the ``bench`` extra);
* ``sync``: sync figures from the virtual-time simulator: the configuration,
  the set of runs over seeds and processes, their medians;
* ``sync_runs``: one simulated run each (convergence, idle, load, the repair
  after a partition, one message to all, the loss floor);
* ``capacity``: what a message costs a region and what rate it carries, and
  the generated valley regions of the scaling runs;
* ``meshes``: the meshes they run on (shipped scenarios, random geometric
  meshes, bursts of sends, hop counts);
* ``footprint``: CLI latency, store queries at scale, the daemon's RSS and CPU;
* ``report``: every benchmark in one run, written as report.md, plots and
  results.json (``relay bench all``);
* ``plots``: the report's PNG plots (matplotlib, from the ``bench`` extra).
"""
