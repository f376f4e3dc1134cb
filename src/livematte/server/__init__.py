"""The `livematte serve` web app: page, signalling, settings and stats (see app.py)."""
