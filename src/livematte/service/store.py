"""Job state, inputs and outputs in Redis: the one place the API and every worker, on any machine, meet.

Every key lives under `lm:{queue}:` so that deployments (and test runs) sharing a Redis never see each
other's jobs. Inputs and outputs are Redis values, not files on a shared disk, so a worker on another
machine needs only the broker and Redis URLs. Everything a job owns expires after result_ttl_s.

    job:{id}       hash   state, owner, kind, options (JSON), count, created, expires, error
    items:{id}     hash   index → JSON {name, status, error, flags, cached}
    tries:{id}     hash   index → how many times a worker started the item (redeliveries show here)
    in:{id}:{i}    bytes  the uploaded input          out:{id}:{i}  bytes  its result
    active:{owner} set    the owner's unfinished jobs (the queued-jobs limit)
    done:{id}      list   one element pushed when the job ends (POST /v1/cutout blocks on it)
    warnings:{id}  list   what the job's report warns of (audio dropped, corrupt packets skipped)
    worker:{name}  string heartbeat of a running worker, expires when it stops beating
"""
from __future__ import annotations

import json
import time
import uuid

import redis

TERMINAL_ITEM = ("done", "failed", "cancelled")
TERMINAL_JOB = ("done", "failed", "cancelled")
HEARTBEAT_S = 15

# An output is written only while its job is alive and not cancelled, together with its item record:
# a re-run after a redelivery replaces both, never adds a second output.
_WRITE_OUTPUT = """
local state = redis.call('HGET', KEYS[1], 'state')
if (not state) or state == 'cancelled' then return 0 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""
# Moves a job to a final state once, from queued or running only (never out of cancelled).
_FINISH = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'error', ARGV[2])
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""


class QueueFull(Exception):
    """The owner already has max_active unfinished jobs (args[0]: how many)."""


class Store:
    def __init__(self, url: str, namespace: str, ttl_s: int):
        self.redis = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5,
                                          health_check_interval=30)
        self.prefix = f"lm:{namespace}:"
        self.ttl = ttl_s
        self._write_output = self.redis.register_script(_WRITE_OUTPUT)
        self._finish = self.redis.register_script(_FINISH)

    def key(self, *parts) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    # -- jobs ----------------------------------------------------------------------------------------
    def create_job(self, owner: str, kind: str, options: dict, names: list[str], inputs: list[bytes],
                   max_active: int | None = None) -> str:
        """The new job's id. With max_active, QueueFull unless the owner has fewer unfinished jobs: the job
        is recorded, joins active:{owner} and the set is counted in one transaction, so that concurrent
        requests cannot all pass a check made before any of them is recorded (and no id is ever in the set
        without its record, which active_jobs would take for expired)."""
        job_id = uuid.uuid4().hex
        now = time.time()
        record = {"state": "queued", "owner": owner, "kind": kind, "options": json.dumps(options),
                  "count": len(names), "created": now, "expires": now + self.ttl, "error": ""}
        with self.redis.pipeline() as pipe:       # MULTI/EXEC
            pipe.hset(self.key("job", job_id), mapping=record)
            pipe.expire(self.key("job", job_id), self.ttl)
            if names:
                items = {i: json.dumps(_item(name)) for i, name in enumerate(names)}
                pipe.hset(self.key("items", job_id), mapping=items)
                pipe.expire(self.key("items", job_id), self.ttl)
            for i, data in enumerate(inputs):
                pipe.set(self.key("in", job_id, i), data, ex=self.ttl)
            pipe.sadd(self.key("active", owner), job_id)
            pipe.expire(self.key("active", owner), self.ttl)
            pipe.scard(self.key("active", owner))
            active = pipe.execute()[-1]
        if max_active is not None and active > max_active:
            with self.redis.pipeline() as pipe:
                pipe.srem(self.key("active", owner), job_id)
                pipe.delete(self.key("job", job_id), self.key("items", job_id),
                            *(self.key("in", job_id, i) for i in range(len(inputs))))
                pipe.execute()
            raise QueueFull(active - 1)
        return job_id

    def job(self, job_id: str) -> dict | None:
        raw = self.redis.hgetall(self.key("job", job_id))
        if not raw:
            return None
        job = {k.decode(): v.decode() for k, v in raw.items()}
        job["id"] = job_id
        job["options"] = json.loads(job["options"])
        job["count"] = int(job["count"])
        job["created"], job["expires"] = float(job["created"]), float(job["expires"])
        return job

    def items(self, job_id: str) -> list[dict]:
        raw = self.redis.hgetall(self.key("items", job_id))
        items = [{"index": int(k), **json.loads(v)} for k, v in raw.items()]
        return sorted(items, key=lambda item: item["index"])

    def item(self, job_id: str, index: int) -> dict | None:
        raw = self.redis.hget(self.key("items", job_id), index)
        return json.loads(raw) if raw else None

    def set_items(self, job_id: str, names: list[str]) -> None:
        """A video's chunks become its items once the worker has planned them (count is set with them)."""
        with self.redis.pipeline() as pipe:
            pipe.hset(self.key("items", job_id), mapping={i: json.dumps(_item(n)) for i, n in enumerate(names)})
            pipe.expire(self.key("items", job_id), self.ttl)
            pipe.hset(self.key("job", job_id), "count", len(names))
            pipe.execute()

    def start_item(self, job_id: str, index: int) -> int:
        """Mark an item running (and the job, if it was queued); returns how many times it was started."""
        with self.redis.pipeline() as pipe:
            pipe.hincrby(self.key("tries", job_id), index, 1)
            pipe.expire(self.key("tries", job_id), self.ttl)
            pipe.execute()
        item = self.item(job_id, index) or {}
        if item.get("status") not in TERMINAL_ITEM:
            item["status"] = "running"
            self._write_output(keys=[self.key("job", job_id), self.key("items", job_id), ""],
                               args=[index, json.dumps(item), "", self.ttl])
        self.redis.hsetnx(self.key("job", job_id), "started", time.time())
        if self.redis.hget(self.key("job", job_id), "state") == b"queued":
            self.redis.hset(self.key("job", job_id), "state", "running")
        return int(self.redis.hget(self.key("tries", job_id), index) or 0)

    def tries(self, job_id: str) -> dict[int, int]:
        return {int(k): int(v) for k, v in self.redis.hgetall(self.key("tries", job_id)).items()}

    def finish_item(self, job_id: str, index: int, status: str, *, output: bytes | None = None,
                    error: str = "", flags: list | None = None, cached: bool = False, worker: str = "") -> bool:
        """Record an item's outcome (and its output, atomically with it). False: the job is gone or cancelled."""
        item = self.item(job_id, index) or {"name": str(index)}
        item.update(status=status, error=error, flags=flags or [], cached=cached, worker=worker)
        written = self._write_output(keys=[self.key("job", job_id), self.key("items", job_id),
                                           self.key("out", job_id, index)],
                                     args=[index, json.dumps(item), output if output is not None else b"",
                                           self.ttl])
        return bool(written)

    def finish_job(self, job_id: str, state: str, error: str = "") -> bool:
        job = self.job(job_id)
        if job is None:
            return False
        finished = bool(self._finish(keys=[self.key("job", job_id), self.key("active", job["owner"]),
                                           self.key("done", job_id)],
                                     args=[state, error, job_id, self.ttl]))
        if finished:
            # Nothing reads a job's inputs, or a video's chunks, once it has ended; left to expire they
            # kept every upload in Redis for result_ttl_s after its result was made.
            spent = [self.key("in", job_id, i) for i in range(max(job["count"], 1))]
            if job["kind"] == "video":
                spent += [self.key("out", job_id, i) for i in range(job["count"])]
            self.redis.delete(*spent)
        return finished

    def finish_if_complete(self, job_id: str) -> str | None:
        """End the job when every item has ended: done if any item succeeded, failed if none did."""
        items = self.items(job_id)
        job = self.job(job_id)
        if job is None or len(items) < job["count"] or any(i["status"] not in TERMINAL_ITEM for i in items):
            return None
        state = "done" if any(i["status"] == "done" for i in items) or not items else "failed"
        errors = "; ".join(f"{i['name']}: {i['error']}" for i in items if i["status"] == "failed")
        self.finish_job(job_id, state, errors if state == "failed" else "")
        return state

    def cancel(self, job_id: str) -> None:
        """Cancelled for good: the state stays (so late workers see it), every input and output goes."""
        self.finish_job(job_id, "cancelled")
        if self.redis.exists(self.key("job", job_id)):
            self.redis.hset(self.key("job", job_id), "state", "cancelled")   # a done job too: its files go
        count = (self.job(job_id) or {}).get("count", 0)
        keys = [self.key("in", job_id, i) for i in range(max(count, 1))]
        keys += [self.key("out", job_id, i) for i in range(count)] + [self.key("out", job_id, "result")]
        self.redis.delete(*keys)
        for item in self.items(job_id):
            if item["status"] not in TERMINAL_ITEM:
                item["status"] = "cancelled"
                self.redis.hset(self.key("items", job_id), item.pop("index"), json.dumps(item))

    def active_jobs(self, owner: str) -> int:
        """Unfinished jobs of this owner; ids whose records expired are dropped from the set here."""
        ids = [i.decode() for i in self.redis.smembers(self.key("active", owner))]
        gone = [i for i in ids if not self.redis.exists(self.key("job", i))]
        if gone:
            self.redis.srem(self.key("active", owner), *gone)
        return len(ids) - len(gone)

    # -- blobs ---------------------------------------------------------------------------------------
    def input(self, job_id: str, index: int = 0) -> bytes | None:
        return self.redis.get(self.key("in", job_id, index))

    def output(self, job_id: str, index) -> bytes | None:
        return self.redis.get(self.key("out", job_id, index))

    def put_output(self, job_id: str, index, data: bytes) -> None:
        self.redis.set(self.key("out", job_id, index), data, ex=self.ttl)

    def warn(self, job_id: str, text: str) -> None:
        """A warning the job's report carries (audio dropped, corrupt packets skipped)."""
        with self.redis.pipeline() as pipe:
            pipe.rpush(self.key("warnings", job_id), text)
            pipe.expire(self.key("warnings", job_id), self.ttl)
            pipe.execute()

    def warnings(self, job_id: str) -> list[str]:
        return [w.decode() for w in self.redis.lrange(self.key("warnings", job_id), 0, 99)]

    def set_field(self, job_id: str, name: str, value: str) -> None:
        """A job record's field of its own (a video's chunk plan, its warnings)."""
        self.redis.hset(self.key("job", job_id), name, value)

    # -- workers and limits --------------------------------------------------------------------------
    def beat(self, worker: str) -> None:
        self.redis.set(self.key("worker", worker), time.time(), ex=HEARTBEAT_S)

    def workers(self) -> int:
        return sum(1 for _ in self.redis.scan_iter(match=self.key("worker", "*"), count=100))

    def hit_rate(self, who: str, per_minute: int) -> int:
        """Count one request of `who` in this minute; returns the seconds to wait when over, else 0."""
        minute = int(time.time() // 60)
        key = self.key("rate", who, minute)
        with self.redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 61)
            count, _ = pipe.execute()
        return 0 if count <= per_minute else 60 - int(time.time() % 60)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

    def forget_everything(self) -> int:
        """Delete every key of this namespace (tests and benchmarks clean up after themselves)."""
        keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
        return self.redis.delete(*keys) if keys else 0


def _item(name: str) -> dict:
    return {"name": name, "status": "queued", "error": "", "flags": [], "cached": False}
