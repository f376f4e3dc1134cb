"""`livematte serve` as a user starts it, in its own process on a free loopback port, for the tests that
talk to it over real HTTP (and from a real browser)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import REPO

START_DEADLINE_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    def __init__(self, folder: Path, *args: str, env: dict | None = None, toml: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.tmp = folder / "tmp"          # the server's TMPDIR: where its uploads folder is made
        self.tmp.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "livematte", "serve", "--port", str(self.port), *args]
        if toml:
            (folder / "serve.toml").write_text(toml)
            command += ["--config", str(folder / "serve.toml")]
        self.log_path = folder / "serve.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop(), after the process
        full_env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TMPDIR": str(self.tmp), **(env or {})}
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=full_env)

    def wait_ready(self) -> Serve:
        end = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return self
            except urllib.error.HTTPError:
                return self            # it answers (with a refusal): it is up
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise AssertionError(f"livematte serve did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def uploads(self) -> list[Path]:
        return sorted(p for d in self.tmp.glob("livematte-uploads-*") for p in d.iterdir())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30):
    """(status, headers, body bytes) of one real HTTP request; refusals are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()
