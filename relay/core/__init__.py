"""The pure core: no I/O, no clock, no threads.  Time arrives as arguments."""
