"""Sources: where frames come from (video and streams in av.py, still images in images.py)."""
