"""``relay bench``: the benchmarks, one module each; the CLI imports them only when a bench command runs.

* ``size``: wire size, packets and airtime of text messages beside plain
  Meshtastic text and LXMF (``relay bench size``);
* ``lxmf``: what LXMF puts on the air for a text (needs the ``bench`` extra);
* ``sync``: sync figures from the virtual-time simulator;
* ``footprint``: CLI latency, store queries at scale, the daemon's RSS and CPU;
* ``report``: every benchmark in one run, written as report.md, plots and
  results.json (``relay bench all``).
"""
