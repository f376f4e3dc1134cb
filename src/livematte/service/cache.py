"""The result cache: an identical image with identical options gets the stored result back.

Keyed by SHA-256 of the input bytes, the options (canonical JSON) and the livematte version, so a new
release never serves an old release's output. Bounded in bytes: putting an entry drops the least
recently used ones until the total fits, in one Lua script so that concurrent workers keep the
count exact. Entries do not expire by time; the byte bound is what limits them.
"""
from __future__ import annotations

import hashlib
import json
import time

from .. import __version__
from .store import Store

_PUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  return 0
end
local size = string.len(ARGV[2])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], size)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local total = redis.call('INCRBY', KEYS[4], size)
while total > tonumber(ARGV[4]) do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest then break end
  local gone = tonumber(redis.call('HGET', KEYS[3], oldest) or '0')
  redis.call('DEL', ARGV[5] .. oldest)
  redis.call('HDEL', KEYS[3], oldest)
  redis.call('ZREM', KEYS[2], oldest)
  total = redis.call('DECRBY', KEYS[4], gone)
end
return 1
"""


def cache_key(data: bytes, options: dict) -> str:
    digest = hashlib.sha256()
    digest.update(__version__.encode() + b"\0")
    digest.update(json.dumps(options, sort_keys=True).encode() + b"\0")
    digest.update(data)
    return digest.hexdigest()


class ResultCache:
    def __init__(self, store: Store, limit_bytes: int):
        self.store = store
        self.limit = limit_bytes
        self._put = store.redis.register_script(_PUT)
        self._blob = store.key("cache", "blob", "")
        self._lru, self._sizes, self._total = (store.key("cache", n) for n in ("lru", "sizes", "bytes"))

    def get(self, key: str) -> tuple[bytes, list] | None:
        """(output, quality flags) or None; a hit counts as a use for the eviction order."""
        raw = self.store.redis.get(self._blob + key)
        if raw is None:
            return None
        self.store.redis.zadd(self._lru, {key: time.time()}, xx=True)
        flags_len = int.from_bytes(raw[:4], "big")
        return raw[4 + flags_len:], json.loads(raw[4:4 + flags_len])

    def put(self, key: str, output: bytes, flags: list) -> bool:
        flags_json = json.dumps(flags).encode()
        value = len(flags_json).to_bytes(4, "big") + flags_json + output
        if len(value) > self.limit:
            return False
        return bool(self._put(keys=[self._blob + key, self._lru, self._sizes, self._total],
                              args=[key, value, time.time(), self.limit, self._blob]))

    def size(self) -> int:
        return int(self.store.redis.get(self._total) or 0)
