"""SourceFeed: the one server-side source (file, URL or camera) that every `source`-mode viewer watches.

It runs only while someone watches: the first viewer starts a decode thread and a LiveProcessor,
the last one to leave stops both. Files loop, so a demo clip plays for as long as it is watched.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..errors import LivematteError
from ..live import LiveProcessor
from ..pacing import feed
from ..sources import is_live

log = logging.getLogger(__name__)


class SourceFeed:
    def __init__(self, uri: str, make_processor: Callable[[], LiveProcessor],
                 source_options: dict | None = None) -> None:
        self.uri = uri
        self._source_options = source_options or {}    # retries, timeout_s, av_options ([input])
        self._make_processor = make_processor
        self._lock = threading.Lock()
        self._viewers = 0
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.processor: LiveProcessor | None = None
        self.error: str | None = None

    def attach(self) -> LiveProcessor:
        """A viewer arrives: start the feed if it is the first, and return the processor to watch."""
        with self._lock:
            self._viewers += 1
            if self.processor is None:
                self.processor, self._stop = self._make_processor(), threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self.processor, self._stop),
                                                name="livematte-source", daemon=True)
                self._thread.start()
            return self.processor

    def detach(self) -> None:
        """A viewer leaves. The last one stops the feed; the decode thread closes the processor itself,
        so that nothing here blocks the event loop."""
        with self._lock:
            self._viewers = max(0, self._viewers - 1)
            if self._viewers == 0 and self._stop is not None:
                self._stop.set()
                self.processor = self._stop = None

    def set_config(self, config) -> None:
        with self._lock:
            if self.processor is not None:
                self.processor.set_config(config)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._viewers = 1
        self.detach()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self, processor: LiveProcessor, stop: threading.Event) -> None:
        try:
            index = 0
            while not stop.is_set():
                played = self._play_once(processor, stop, index)
                index += played
                if played == 0 or is_live(self.uri):
                    break      # a stream or camera that ended does not come back by looping
        except LivematteError as exc:
            self.error = str(exc)
            log.error("source %s: %s", self.uri, exc)
        finally:
            processor.close()

    def _play_once(self, processor: LiveProcessor, stop: threading.Event, index: int) -> int:
        """Decode the source once, paced by its timestamps, handing each frame to the processor.
        Returns how many frames it played."""
        from ..sources import open_source

        with open_source(self.uri, live=is_live(self.uri), **self._source_options) as source:
            return feed(source.frames(), processor, stop, index)
