"""Sinks: where composited frames go (video files in file.py, still images in images.py)."""
