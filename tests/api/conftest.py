"""A real uvicorn server on loopback (in a thread, on a free port) and real synthetic invoices."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prunestack.api.app import create_app
from prunestack.api.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        import uvicorn

        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def synth_set(tmp_path_factory) -> Path:
    """Two seeded synthetic invoices (born-digital PDFs) with SOB records and ground truth."""
    from prunestack.eval.synth.generate import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth")
    generate(SynthConfig(kind="invoice", n=2, seed=3), out, progress=False)
    return out


@pytest.fixture(scope="session")
def invoice(synth_set) -> tuple[Path, dict, dict]:
    """(PDF path, schema, ground truth) of the first synthetic invoice."""
    rec = json.loads((synth_set / "records.jsonl").read_text().splitlines()[0])
    return (synth_set / rec["context"], json.loads(rec["json_schema"]),
            json.loads(rec["ground_truth"]))


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory, invoice) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    pdf, schema, _ = invoice
    (folder / "sample_invoice.pdf").write_bytes(pdf.read_bytes())
    (folder / "sample_invoice.schema.json").write_text(json.dumps(schema))
    return folder


@pytest.fixture(scope="session")
def live(examples_dir) -> Iterator[LiveServer]:
    """The default server (generous limits) shared by the tests."""
    with LiveServer(Settings(max_upload_bytes=2_000_000, max_pages=5, examples_dir=examples_dir,
                             max_concurrency=2, max_queue=8, queue_timeout_s=30)) as srv:
        yield srv


API_KEY = "s3cret-test-key"


@pytest.fixture(scope="session")
def live_keyed(examples_dir) -> Iterator[LiveServer]:
    """A server that needs an API key (``API_KEY``), as a deployment would."""
    with LiveServer(Settings(max_upload_bytes=2_000_000, max_pages=5, examples_dir=examples_dir,
                             api_key=API_KEY, max_concurrency=2, queue_timeout_s=30)) as srv:
        yield srv


@pytest.fixture()
def make_server(examples_dir) -> Iterator[Callable[..., LiveServer]]:
    """Start a server with specific settings; stopped after the test."""
    started: list[LiveServer] = []

    def start(**kw) -> LiveServer:
        kw.setdefault("examples_dir", examples_dir)
        srv = LiveServer(Settings(**kw)).__enter__()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.__exit__(None, None, None)
