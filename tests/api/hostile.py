"""What the hostile-input tests share: a real ``prunestack`` server in a subprocess, a loopback
listener that counts the connections it accepts, and a probe runner that watches the server while
one request runs.

* :class:`ServerProcess` starts ``python -m uvicorn --factory prunestack.api.app:create_app`` on a
  free loopback port with its settings in ``PRUNESTACK_*`` environment variables (the way an
  operator configures it). A subprocess, so its RSS can be read with psutil and a request that
  holds the GIL for hours freezes only the server, which is then killed (by its pid) and started
  again, never the test process. Its log goes to a file the tests read at the end.
* :class:`Listener` is an HTTP server on another loopback port. Schemas name its URLs; it answers
  every request with a small JSON Schema (what an attacker's server would do) and records every
  connection it accepts, so a test can say that the server never fetched anything.
* :func:`run_probe` sends one request on a fresh connection and, while it runs, polls ``/healthz``
  (each answer must come within 1 s), samples the server's RSS every 50 ms (a server that grows by
  more than :data:`KILL_GROWTH_MB` is killed at once to protect the machine) and afterwards waits
  for the worker slot to free. It returns an :class:`Outcome`; :meth:`Outcome.problems` lists what
  went wrong in words a failure message can carry.

This module does not decide what a probe should answer: the test modules do.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
KEY = "hostile-test-key"
HEADERS = {"X-API-Key": KEY}
#: RSS growth over the probe's baseline at which the server is killed (the bar itself is 300 MB).
KILL_GROWTH_MB = 1200
#: Most bytes of an answer the tests read (a hostile schema once made a 300 MB answer).
MAX_BODY = 2_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------- listener


class Listener:
    """A loopback HTTP server that records every connection it accepts."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits
        self.connections = 0
        lock = threading.Lock()
        self._lock = lock
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    hits.append(f"{self.command} {self.path}")
                body = json.dumps({"type": "string", "pattern": "^(a+)+$"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/schema+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_HEAD = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with lock:
                    outer.connections += 1
                return True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.connections, len(self.hits)


# ------------------------------------------------------------------------------ server process


class ServerProcess:
    """``prunestack``'s app under uvicorn in a child process; restartable."""

    def __init__(self, log_path: Path, settings: dict[str, Any],
                 warmup: Callable[[ServerProcess], None] | None = None) -> None:
        self.log_path = log_path
        self.settings = settings
        self.warmup = warmup
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.restarts: list[str] = []

    # ---- life cycle
    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRUNESTACK_")}
        env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "TOKENIZERS_PARALLELISM": "false", "PRUNESTACK_API_KEY": KEY})
        for name, value in self.settings.items():
            env[f"PRUNESTACK_{name.upper()}"] = str(value)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log_path.open("ab") as log:
            log.write(f"\n=== server start on port {self.port} ===\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "prunestack.api.app:create_app",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while self.health() is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode} at start-up:\n"
                                   + self.log_tail())
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("the server did not answer /healthz within 180 s:\n"
                                   + self.log_tail())
            time.sleep(0.2)
        if self.warmup is not None:
            try:
                self.warmup(self)
            except BaseException:
                self.kill()
                raise

    def kill(self) -> None:
        """SIGKILL the server (our own child, by pid) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- looking at it
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        try:
            return psutil.Process(self.pid).memory_info().rss / 2**20
        except psutil.Error:
            return 0.0

    def health(self, timeout: float = 1.0) -> dict[str, Any] | None:
        """``/healthz``'s answer, or None when it does not come within ``timeout``."""
        try:
            r = httpx.get(self.url + "/healthz", timeout=timeout)
            return r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def idle_within(self, seconds: float) -> float | None:
        """Seconds until ``/healthz`` shows no running and no waiting work, or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            h = self.health()
            if h is not None and h.get("running") == 0 and h.get("waiting") == 0:
                return time.monotonic() - t0
            time.sleep(0.1)
        return None

    def ensure_ready(self) -> None:
        """A live, idle server: restart one that died, hangs or is still busy."""
        if not self.alive:
            self.restart("the server process had died")
        elif self.idle_within(5.0) is None:
            self.restart("the server was hung or still busy")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 3000) -> str:
        return self.log_text()[-n:]

    def client(self, timeout: float) -> httpx.Client:
        """A fresh connection (a 500 can close a kept-alive one under the next request)."""
        return httpx.Client(base_url=self.url, headers=HEADERS, timeout=timeout)


# ------------------------------------------------------------------------------------- probes


def exception_lines(log: str) -> list[str]:
    """The last line of every traceback in ``log`` (``RecursionError: maximum recursion ...``)."""
    out: list[str] = []
    previous = ""
    for line in log.splitlines():
        if (previous.startswith(" ") and line and not line[0].isspace()
                and not line.startswith(("Traceback", "ERROR:", "INFO:", "WARNING:", "The above",
                                         "During handling", "==="))):
            out.append(line)
        previous = line
    return out


@dataclass
class Outcome:
    """What one request did to the server."""

    status: int | None = None
    elapsed: float = 0.0
    body: bytes = b""
    body_len: int = 0
    error: str | None = None  # the client's exception, when no answer came
    health_worst: float = 0.0
    health_misses: list[str] = field(default_factory=list)
    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    killed_for_memory: bool = False
    new_connections: int = 0
    new_hits: list[str] = field(default_factory=list)
    idle_after: float | None = 0.0  # seconds until the slot freed after the answer; None: never
    server_exception: str = ""  # the last exception line the server logged during the probe

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_before_mb

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error_text(self) -> str:
        """The error body's message and hint, as one string (empty if there is none)."""
        body = self.json()
        if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return ""
        err = body["error"]
        return f"{err.get('message') or ''} {err.get('hint') or ''}"

    def summary(self) -> str:
        excerpt = self.body[:400].decode("utf-8", "replace")
        return (f"[status={self.status}, {self.elapsed:.1f} s, answer {self.body_len} bytes, "
                f"RSS {self.rss_before_mb:.0f} -> peak {self.rss_peak_mb:.0f} MB, worst /healthz "
                f"{self.health_worst:.2f} s, body={excerpt!r}"
                + (f", client error={self.error}" if self.error else "")
                + (f", server log: {self.server_exception[:300]!r}" if self.server_exception
                   else "") + "]")

    def problems(self, *, answer_within: float, health_within: float | None = 1.0,
                 rss_limit_mb: float | None = 300.0, idle_within: float = 3.0) -> list[str]:
        """The generic bars every probe must clear (status below 500, time, /healthz, RSS,
        no connections to the listener, the worker slot freed)."""
        out: list[str] = []
        if self.killed_for_memory:
            out.append(f"the server grew by more than {KILL_GROWTH_MB} MB and was killed")
        if self.status is None:
            out.append(f"no answer within {answer_within:g} s ({self.error})")
        elif self.status >= 500:
            out.append(f"answered {self.status} (a server error)")
        if self.status is not None and self.elapsed > answer_within:
            out.append(f"answered after {self.elapsed:.1f} s (limit {answer_within:g} s)")
        if health_within is not None and self.health_misses:
            out.append(f"/healthz did not answer within {health_within:g} s "
                       f"{len(self.health_misses)}x (worst {self.health_worst:.2f} s: "
                       f"{self.health_misses[0]})")
        if rss_limit_mb is not None and self.rss_growth_mb >= rss_limit_mb:
            out.append(f"server RSS grew by {self.rss_growth_mb:.0f} MB during the probe "
                       f"(limit {rss_limit_mb:g} MB)")
        if self.new_connections or self.new_hits:
            out.append(f"the loopback listener saw {self.new_connections} connection(s): "
                       f"{self.new_hits[:5]}")
        if self.status is not None and self.idle_after is None:
            out.append(f"the worker slot was still busy {idle_within:g} s after the answer "
                       "(work outlived its request)")
        return out


def run_probe(server: ServerProcess, listener: Listener | None,
              build: Callable[[], tuple[str, str, dict[str, Any]]], *, timeout: float = 20.0,
              health_within: float = 1.0, idle_within: float = 3.0) -> Outcome:
    """Send one request (``build()`` gives method, path and httpx keyword arguments) on a fresh
    connection and watch the server while it runs (see the module docstring). Leaves the server
    ready for the next probe: restarted if it died, hung or stayed busy."""
    server.ensure_ready()
    method, path, kwargs = build()
    out = Outcome(rss_before_mb=server.rss_mb())
    log_start = server.log_path.stat().st_size if server.log_path.exists() else 0
    out.rss_peak_mb = out.rss_before_mb
    conn0, hits0 = listener.snapshot() if listener else (0, 0)
    stop = threading.Event()

    def watch_rss() -> None:
        while not stop.is_set():
            rss = server.rss_mb()
            out.rss_peak_mb = max(out.rss_peak_mb, rss)
            if rss - out.rss_before_mb > KILL_GROWTH_MB and server.alive:
                out.killed_for_memory = True
                server.kill()
            time.sleep(0.05)

    def watch_health() -> None:
        while not stop.is_set():
            t = time.monotonic()
            try:
                r = httpx.get(server.url + "/healthz", timeout=health_within)
                miss = None if r.status_code == 200 else f"status {r.status_code}"
            except httpx.HTTPError as exc:
                miss = type(exc).__name__
            out.health_worst = max(out.health_worst, time.monotonic() - t)
            if miss and not stop.is_set() and not out.killed_for_memory:
                out.health_misses.append(miss)
            stop.wait(0.2)

    watchers = [threading.Thread(target=watch_rss, daemon=True),
                threading.Thread(target=watch_health, daemon=True)]
    for w in watchers:
        w.start()
    t0 = time.monotonic()
    try:
        with server.client(timeout) as c, c.stream(method, path, **kwargs) as r:
            out.status = r.status_code
            chunks: list[bytes] = []
            for chunk in r.iter_bytes():
                out.body_len += len(chunk)
                if sum(map(len, chunks)) < MAX_BODY:
                    chunks.append(chunk)
                if out.body_len > 50 * MAX_BODY:
                    break  # enough to say the answer is absurd
            out.body = b"".join(chunks)
    except httpx.HTTPError as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    out.elapsed = time.monotonic() - t0
    out.idle_after = server.idle_within(idle_within) if server.alive else None
    stop.set()
    for w in watchers:
        w.join(timeout=5)
    time.sleep(0.1)  # a fetch that was on its way
    if listener is not None:
        conn1, hits1 = listener.snapshot()
        out.new_connections = conn1 - conn0
        out.new_hits = listener.hits[hits0:hits1]
    with server.log_path.open("rb") as log:
        log.seek(log_start)
        found = exception_lines(log.read().decode("utf-8", "replace"))
    out.server_exception = found[-1] if found else ""
    # leave a usable server behind, without charging the next probe for this one
    if not server.alive:
        server.restart("killed or died during the previous probe")
    elif out.idle_after is None:
        server.restart("hung or still busy after the previous probe")
    return out
