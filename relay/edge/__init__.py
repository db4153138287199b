"""The edge: storage, files and configuration around the pure core."""
