"""The config sections of the long-running servers: `serve` ([live]) and `api`/`worker` ([service]).
Part of Config (config.py), which re-exports them."""
from __future__ import annotations

from dataclasses import dataclass, field

from .config_checks import in_range as _in_range


@dataclass(frozen=True)
class LiveConfig:
    host: str = "127.0.0.1"        # any other address needs a token
    port: int = 8080
    token: str = ""                # access token (or $LIVEMATTE_TOKEN); required unless host is loopback
    allowed_hosts: list[str] = field(default_factory=list)  # host names accepted in Host besides IPs, localhost
    connect_timeout_s: float = 20.0  # a peer not connected this long after its answer is closed
    max_upload_bytes: int = 20 * 1024 * 1024   # largest uploaded background image
    max_peers: int = 4             # senders and viewers together; more get HTTP 503
    ice_servers: list[str] = field(default_factory=list)   # e.g. ["stun:stun.example.org:3478"]; none by default
    width: int = 1280              # size and rate asked of a real camera (/dev/videoN)
    height: int = 720
    fps: int = 30
    camera: str = "/dev/video0"    # `livematte camera` input when --input is not given
    vcam_device: str = ""          # virtual camera to write; "" = the first one found

    def __post_init__(self):
        _in_range("port", self.port, 0, 65535)
        _in_range("max_peers", self.max_peers, 1, 1000)
        _in_range("connect_timeout_s", self.connect_timeout_s, 1.0, 600.0)
        _in_range("max_upload_bytes", self.max_upload_bytes, 1024, 2**31)
        if self.token and len(self.token) < 16:
            raise ValueError("token: expected at least 16 characters "
                             "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe())')")
        _in_range("fps", self.fps, 1, 240)


@dataclass(frozen=True)
class ServiceConfig:
    """`livematte api` and `livematte worker` (see service/). The URLs and the queue may also come from
    LIVEMATTE_BROKER_URL, LIVEMATTE_RESULT_URL and LIVEMATTE_QUEUE, tokens from LIVEMATTE_API_TOKENS."""
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"   # RabbitMQ: the jobs' queue
    result_url: str = "redis://127.0.0.1:6379/0"              # Redis: job state, progress, inputs, results
    queue: str = "livematte"       # queue name; also the prefix of every Redis key (one namespace per queue)
    host: str = "127.0.0.1"
    port: int = 8090
    tokens: list[str] = field(default_factory=list)   # bearer tokens; LIVEMATTE_API_TOKENS adds to these
    sync_budget_s: float = 20.0    # POST /v1/cutout waits this long for its result, then answers 202 + job
    max_upload_bytes: int = 64 * 1024 * 1024    # one request's body
    max_images: int = 1000         # per job (fields or zip members)
    max_video_seconds: float = 600.0
    max_video_frames: int = 36_000
    max_queued_jobs: int = 8       # unfinished jobs per token
    rate_per_minute: int = 120     # requests per token (or per client address without auth)
    result_ttl_s: int = 3600       # inputs, outputs and job records expire after this
    cache_bytes: int = 256 * 1024 * 1024   # content-hash cache of results, oldest dropped first
    concurrency: int = 0           # worker threads; 0 = one per core. Inference threads = cores // concurrency
    chunk_frames: int = 120        # a video is split at the first keyframe after every chunk_frames frames
    overlap_frames: int = 8        # frames rendered before a chunk's start (and dropped) to warm smoothing up

    def __post_init__(self):
        _in_range("port", self.port, 0, 65535)
        _in_range("sync_budget_s", self.sync_budget_s, 0.0, 600.0)
        _in_range("max_upload_bytes", self.max_upload_bytes, 1, 2**40)
        _in_range("max_images", self.max_images, 1, 100_000)
        _in_range("max_queued_jobs", self.max_queued_jobs, 1, 100_000)
        _in_range("rate_per_minute", self.rate_per_minute, 1, 10**7)
        _in_range("result_ttl_s", self.result_ttl_s, 10, 10**7)
        _in_range("cache_bytes", self.cache_bytes, 0, 2**40)
        _in_range("concurrency", self.concurrency, 0, 256)
        _in_range("chunk_frames", self.chunk_frames, 1, 10**6)
        _in_range("overlap_frames", self.overlap_frames, 0, 1000)
