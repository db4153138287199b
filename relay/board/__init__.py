"""The regional situation board: ``relay board`` serves the picture of the node's own
store as one read-only web page (page.py renders it, server.py serves it)."""
