"""The REST API against a real uvicorn server on loopback: happy paths and every error status."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

TEXT_SCHEMA = {"type": "object", "properties": {
    "invoice_number": {"type": "string"}, "total": {"type": "number"},
    "invoice_date": {"type": "string", "format": "date"}}, "required": ["total"]}
TEXT = "ACME Tools Ltd\n\nInvoice No: INV-77\nDate: 31/01/2024\n\nTotal: EUR 1.234,50"


def test_health_models_openapi_and_page(live):
    with httpx.Client(base_url=live.url) as c:
        h = c.get("/healthz").json()
        assert h["status"] == "ok" and h["max_concurrency"] == 2
        m = c.get("/v1/models").json()
        assert m["engines"] == ["extractive", "generative"] and m["embedder"]["loaded"]
        spec = c.get("/openapi.json").json()
        assert {"/v1/extract", "/v1/parse", "/v1/html/prune", "/v1/models", "/healthz"} <= \
            set(spec["paths"])
        page = c.get("/")
        assert page.status_code == 200 and "<form" in page.text
        assert c.get("/static/app.js").status_code == 200


def test_extract_pdf_happy_path_with_provenance_and_page_image(live, invoice):
    pdf, schema, truth = invoice
    with httpx.Client(base_url=live.url, timeout=120) as c:
        r = c.post("/v1/extract", files={"file": ("inv.pdf", pdf.read_bytes(),
                                                  "application/pdf")},
                   data={"schema": json.dumps(schema)})
        assert r.status_code == 200, r.text
        body = r.json()
        import jsonschema

        jsonschema.validate(body["data"], schema)
        assert body["valid"] and body["engine"] == "extractive"
        for key in ("invoice_number", "invoice_date", "total", "currency"):
            assert body["data"][key] == truth[key], key
        prov = body["provenance"]["total"]
        assert prov["page"] == 1 and prov["bbox"]["x1"] > prov["bbox"]["x0"]
        assert body["pages"][0]["width"] > 0
        png = c.get(f"/v1/documents/{body['document_id']}/pages/1.png")
        assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
        assert c.get(f"/v1/documents/{body['document_id']}/pages/9.png").status_code == 400
        assert c.get("/v1/documents/nope/pages/1.png").status_code == 400


def test_extract_example_and_text_and_parse(live):
    with httpx.Client(base_url=live.url, timeout=120) as c:
        ex = c.get("/v1/examples").json()
        assert [e["name"] for e in ex] == ["sample_invoice"]
        r = c.post("/v1/extract", data={"example": "sample_invoice",
                                        "schema": json.dumps(ex[0]["schema"])})
        assert r.status_code == 200 and r.json()["valid"]
        r = c.post("/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT})
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"invoice_number": "INV-77", "total": 1234.5,
                                    "invoice_date": "2024-01-31"}
        r = c.post("/v1/extract", json={"schema": TEXT_SCHEMA,
                                        "html": "<html><body><p>Total: $12.00</p></body></html>"})
        assert r.status_code == 200 and r.json()["data"]["total"] == 12.0
        doc = c.post("/v1/parse", files={"file": ("a.html", b"<html><body><h1>Hi</h1>"
                                                            b"<p>Text</p></body></html>")},
                     data={"tree": "true"}).json()
        assert doc["document"]["pages"] and doc["tree"]["children"]


def test_html_prune(live):
    html = ("<html><body><nav>Home About</nav><p>The capital of France is Paris.</p>"
            + "".join(f"<p>Filler paragraph {i} about nothing.</p>" for i in range(30))
            + "</body></html>")
    with httpx.Client(base_url=live.url, timeout=60) as c:
        r = c.post("/v1/html/prune", json={"html": html, "query": "capital of France",
                                           "budget": 20})
        assert r.status_code == 200, r.text
        assert "Paris" in r.json()["html"]
        assert c.post("/v1/html/prune", json={"html": html, "query": "x", "budget": 0}
                      ).status_code == 422
        assert c.post("/v1/html/prune", json={"html": html, "query": "x",
                                              "boilerplate_weight": 1.5}).status_code == 422


def test_html_prune_hybrid_and_auto(live):
    """hybrid and auto answer with the pruner that ran (auto: bm25 on a German page); the budget
    counts words of the text, so a glued menu cannot overflow it."""
    html = ("<html><body><ul>" + "".join(f"<li><a>Menu{i}</a></li>" for i in range(40))
            + "</ul><p>The ferry service to the island resumes on Monday morning.</p>"
            + "".join(f"<p>Filler paragraph {i} about nothing.</p>" for i in range(20))
            + "</body></html>")
    german = ("<html><body><p>Die Fähre zur Insel fährt ab Montag früh wieder nach dem "
              "Sturm, sagte der Hafenmeister am Mittwoch.</p><p>Die Preise bleiben gleich und "
              "die Fahrkarten sind im Hafen erhältlich.</p></body></html>")
    with httpx.Client(base_url=live.url, timeout=120) as c:
        for pruner in ("hybrid", "auto"):
            r = c.post("/v1/html/prune", json={"html": html, "query": "when do boats sail "
                                               "to the island again", "budget": 15,
                                               "pruner": pruner})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["pruner"] == pruner and body["pruner_used"] == "hybrid"
            assert "ferry service" in body["html"] and body["words"] <= 15
        r = c.post("/v1/html/prune", json={"html": german, "query": "Fähre Montag",
                                           "budget": 20, "pruner": "auto"})
        assert r.status_code == 200 and r.json()["pruner_used"] == "bm25"
        assert "Fähre zur Insel" in r.json()["html"]
        r = c.post("/v1/html/prune", json={"html": html, "query": "Menu3", "budget": 5})
        assert r.status_code == 200 and r.json()["words"] <= 5
        _err(c.post("/v1/html/prune", json={"html": html, "query": "q", "pruner": "gen"}), 422)


def test_html_prune_boilerplate_weight(live):
    """A nav menu that repeats the question's words loses to the article by default; with the
    demotion switched off (weight 0) it is kept first."""
    html = ("<html><body><nav><a href='/a'>Paris hotels</a> <a href='/b'>Paris weather</a> "
            "<a href='/c'>Paris capital France</a></nav><main><p>The capital of France is "
            "Paris, seat of the government.</p></main></body></html>")
    with httpx.Client(base_url=live.url, timeout=60) as c:
        kept = {}
        for w in (0.8, 0.0):
            r = c.post("/v1/html/prune", json={"html": html, "query": "Paris capital France",
                                               "budget": 9, "boilerplate_weight": w})
            assert r.status_code == 200, r.text
            assert r.json()["boilerplate_weight"] == w
            kept[w] = r.json()["html"]
        assert "The capital of France" in kept[0.8] and "<nav>" not in kept[0.8]
        # without it the nav's "Paris capital France" outranks the article (budget in words of
        # text: 9 words now hold that nav block and the first 4 words of the article)
        assert "<nav>" in kept[0.0] and "Paris capital France" in kept[0.0]


def _err(r: httpx.Response, status: int, typ: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and body["error"]["message"]
    if typ:
        assert body["error"]["type"] == typ
    return body

def _healthz_while(url: str, path: str, kw: dict) -> tuple[httpx.Response, float]:
    """POST ``path`` with ``kw`` in a thread while polling ``/healthz`` (each must answer 200):
    the POST's response and the slowest ``/healthz`` answer in seconds."""
    import threading
    import time

    got: dict = {}

    def post() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            got["r"] = c.post(path, **kw)

    th = threading.Thread(target=post)
    th.start()
    worst = 0.0
    with httpx.Client(base_url=url, timeout=30) as c:
        while th.is_alive():
            t = time.perf_counter()
            assert c.get("/healthz").status_code == 200
            worst = max(worst, time.perf_counter() - t)
            time.sleep(0.05)
    th.join()
    return got["r"], worst


def test_error_400_415_422(live):
    schema = json.dumps(TEXT_SCHEMA)
    with httpx.Client(base_url=live.url, timeout=60) as c:
        _err(c.post("/v1/extract", files={"file": ("x.pdf", b"%PDF-1.7\n garbage")},
                    data={"schema": schema}), 400)
        _err(c.post("/v1/extract", files={"file": ("x.pdf", b"")}, data={"schema": schema}), 400)
        _err(c.post("/v1/extract", content=b"{not json", headers={
            "content-type": "application/json"}), 400, "InputError")
        _err(c.post("/v1/extract", files={"file": ("x.bin", b"\x00\x01\x02 binary")},
                    data={"schema": schema}), 415, "UnsupportedTypeError")
        _err(c.post("/v1/extract", content=b"hello", headers={"content-type": "text/plain"}),
             415)
        _err(c.post("/v1/extract", json={"schema": {"type": "array"}, "text": "x"}), 422,
             "SchemaError")
        _err(c.post("/v1/extract", json={"schema": {"type": "object", "properties": {
            "a": {"type": "nonsense"}}}, "text": "x"}), 422, "SchemaError")
        _err(c.post("/v1/extract", json={"schema": TEXT_SCHEMA, "text": "x", "model": "gpt"}),
             422, "ConfigError")
        _err(c.post("/v1/extract", json={"schema": TEXT_SCHEMA}), 422)
        _err(c.post("/v1/extract", files={"file": ("x.pdf", b"%PDF-")},
                    data={"schema": "{oops"}), 422, "SchemaError")
        _err(c.post("/v1/parse"), 422, "RequestValidationError")


def _raw(port: int, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request over a raw socket; stop sending as soon as the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        s.settimeout(0.05)
        got = b""
        for ch in chunks:
            try:
                s.sendall(ch)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                got += s.recv(65536)
                if got:
                    break
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
        s.settimeout(30)
        try:  # the server closes the connection after a 413: read to the end
            while more := s.recv(65536):
                got += more
        except (ConnectionResetError, TimeoutError):
            pass
        return got


def test_extract_schema_that_names_a_file_is_refused_not_read(live, tmp_path):
    """A 'schema' form field that happens to be the path of a valid schema file on the server
    is refused (422) instead of read; a missing path gets the same answer (no oracle for which
    files exist)."""
    from prunestack.pipeline.schema import load_schema

    path = tmp_path / "schema.json"
    path.write_text(json.dumps(TEXT_SCHEMA))
    assert load_schema(str(path))["properties"] == TEXT_SCHEMA["properties"]  # the library reads it
    with httpx.Client(base_url=live.url, timeout=60) as c:
        for name in (str(path), str(tmp_path / "missing.json")):
            body = _err(c.post("/v1/extract", files={"file": ("x.pdf", b"%PDF-")},
                               data={"schema": name}), 422, "SchemaError")
            assert "path is not accepted" in body["error"]["message"]
        body = _err(c.post("/v1/extract", json={"schema": str(path), "text": "x"}), 422,
                    "SchemaError")
        assert "JSON object" in body["error"]["message"]


def test_extract_schema_is_loaded_once_per_request(live, monkeypatch):
    """The route checks the schema before any work and hands the loaded schema on: the
    meta-schema check runs once per request, for JSON and multipart requests alike."""
    from prunestack.pipeline.schema import load as load_mod

    calls = []
    real = load_mod.check_metaschema
    monkeypatch.setattr(load_mod, "check_metaschema", lambda s: calls.append(1) or real(s))
    html = b"<html><body><p>Invoice No: INV-77</p><p>Total: EUR 12.50</p></body></html>"
    with httpx.Client(base_url=live.url, timeout=120) as c:
        r = c.post("/v1/extract", json={"schema": TEXT_SCHEMA, "text": TEXT})
        assert r.status_code == 200 and r.json()["valid"], r.text
        assert len(calls) == 1
        r = c.post("/v1/extract", files={"file": ("x.html", html, "text/html")},
                   data={"schema": json.dumps(TEXT_SCHEMA)})
        assert r.status_code == 200 and r.json()["data"]["total"] == 12.5, r.text
        assert len(calls) == 2


def test_schema_checks_run_in_the_worker_inside_the_deadline(make_server, monkeypatch):
    """A slow schema check (here: the meta-schema check made to take 2 s) runs in the request's
    worker, not on the event loop: ``/healthz`` keeps answering at once, and the request's
    deadline covers it (504 after 1 s, for JSON and multipart requests alike)."""
    import time

    from prunestack.pipeline.schema import load as load_mod

    real = load_mod.check_metaschema
    monkeypatch.setattr(load_mod, "check_metaschema", lambda s: time.sleep(2.0) or real(s))
    srv = make_server(request_timeout_s=1.0)
    sends = [{"json": {"schema": TEXT_SCHEMA, "text": TEXT}},
             {"files": {"file": ("x.pdf", b"%PDF-")}, "data": {"schema": json.dumps(TEXT_SCHEMA)}}]
    for kw in sends:
        r, worst = _healthz_while(srv.url, "/v1/extract", kw)
        _err(r, 504, "DeadlineError")
        assert worst < 0.5, f"/healthz took {worst:.2f} s while a schema was checked"


def test_a_json_body_is_read_in_the_worker(make_server, monkeypatch):
    """Reading a JSON body (:func:`~prunestack.api.deps.json_body`: the depth scan, in Python,
    then ``json.loads``; ~1 s for a 15 MB body) happens in the request's worker thread, never on
    the event loop. Checked directly (no running event loop in the thread that reads the body)
    and by its effect: a read made to take 1 s leaves ``/healthz`` answering at once."""
    import asyncio
    import time

    from prunestack.api.routes import ask as ask_route
    from prunestack.api.routes import extract as extract_route
    from prunestack.api.routes import html as html_route

    on_loop: list[bool] = []

    def slow_read(read):
        def wrapped(raw, settings):
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:
                on_loop.append(False)
            time.sleep(1.0)
            return read(raw, settings)
        return wrapped

    sends = ((extract_route, "/v1/extract", b'"schema": {"type": "object"}, "text": "x"'),
             (html_route, "/v1/html/prune", b'"html": "<p>x</p>", "query": "q"'),
             (ask_route, "/v1/ask", b'"text": "x", "question": "q"'))
    srv = make_server(max_upload_bytes=20_000_000)
    for module, path, fields in sends:
        monkeypatch.setattr(module, "json_body", slow_read(module.json_body))
        body = b"{" + fields + b', "pad": ["ab", "a"]}'
        r, worst = _healthz_while(srv.url, path, {
            "content": body, "headers": {"content-type": "application/json"}})
        assert r.status_code == 422, r.text  # 'pad' is not a field
        assert on_loop == [False], f"{path} read its JSON body on the event loop"
        assert worst < 0.5, f"/healthz took {worst:.2f} s while {path} read its body"
        on_loop.clear()


def test_every_api_schema_load_refuses_paths():
    """Static check: outside the CLI (a user's own files), every ``load_schema`` call in the API
    passes ``allow_path=False``, and the routes that extract load through it."""
    import ast
    from pathlib import Path

    api = Path(__file__).resolve().parents[2] / "api"
    calls = 0
    for f in api.rglob("*.py"):
        if "commands" in f.parts:
            continue
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "load_schema":
                calls += 1
                kw = {k.arg: k.value for k in node.keywords}
                assert isinstance(kw.get("allow_path"), ast.Constant) and \
                    kw["allow_path"].value is False, f"{f}:{node.lineno}"
    assert calls >= 1


def test_error_413_declared_and_streamed(live):
    limit = 2_000_000
    # Declared Content-Length above the limit: answered before one body byte is sent.
    head = (b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 1000000000\r\n\r\n")
    resp = _raw(live.port, head, [])
    assert resp.startswith(b"HTTP/1.1 413"), resp[:200]
    assert b"upload too large" in resp
    # Chunked upload without a length: counted while streaming and cut off past the limit.
    head = (b"POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = 256 * 1024
    part = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n")
    part += b"a" * (chunk - len(part))
    body = [f"{chunk:x}\r\n".encode() + (part if i == 0 else b"a" * chunk) + b"\r\n"
            for i in range(4 * limit // chunk)]
    resp = _raw(live.port, head, body)
    assert resp.startswith(b"HTTP/1.1 413"), resp[:200]


def test_upload_guard_reads_at_most_limit_plus_one_chunk():
    """The middleware stops pulling body chunks once the count passes the limit."""
    from prunestack.api.limits import UploadLimitMiddleware

    pulled = 0
    sent: list[dict] = []

    async def app(scope, receive, send):
        while True:  # an app that would read everything
            msg = await receive()
            if msg["type"] == "http.disconnect" or not msg.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def send(msg):
        sent.append(msg)

    mw = UploadLimitMiddleware(app, max_bytes=lambda: 10_000)
    asyncio.run(mw({"type": "http", "method": "POST", "headers": []}, receive, send))
    assert pulled == 11  # 11 × 1000 bytes > 10,000: no further chunk is read
    assert sent[0]["status"] == 413 and len(sent) == 2


def test_error_429_503_504_and_401(make_server):
    schema = {"type": "object", "properties": {"total": {"type": "number"}}}
    # 429: the only slot is held and nobody may wait.
    srv = make_server(max_concurrency=1, max_queue=0, queue_timeout_s=0.2)
    lim = srv.app.state.limiter
    asyncio.run_coroutine_threadsafe(lim._sem.acquire(), srv.app.state.loop).result(5)
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            b = _err(c.post("/v1/extract", json={"schema": schema, "text": "Total: 5.00"}), 429)
            assert b["error"]["type"] == "RateLimitedError"
    finally:
        srv.app.state.loop.call_soon_threadsafe(lim._sem.release)
    # 503: one may wait, but not long enough for the held slot.
    srv = make_server(max_concurrency=1, max_queue=1, queue_timeout_s=0.2)
    lim = srv.app.state.limiter
    asyncio.run_coroutine_threadsafe(lim._sem.acquire(), srv.app.state.loop).result(5)
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            r = c.post("/v1/extract", json={"schema": schema, "text": "Total: 5.00"})
            _err(r, 503, "BusyError")
            assert r.headers["retry-after"] == "1"
    finally:
        srv.app.state.loop.call_soon_threadsafe(lim._sem.release)
    # 504: a deadline shorter than any real extraction.
    srv = make_server(request_timeout_s=0.001)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        _err(c.post("/v1/extract", json={"schema": schema, "text": "Total: 5.00\n" * 2000}),
             504, "DeadlineError")
    # 401: an API key is configured.
    srv = make_server(api_key="s3cret")
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        _err(c.get("/v1/models"), 401)
        _err(c.get("/v1/models", headers={"X-API-Key": "wrong"}), 401)
        assert c.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/v1/models", headers={"Authorization": "Bearer s3cret"}
                     ).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_413_too_many_pages(make_server, tmp_path):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(3):
        pdf.new_page(200, 200)
    path = tmp_path / "three.pdf"
    pdf.save(str(path))
    srv = make_server(max_pages=2)
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        _err(c.post("/v1/extract", files={"file": ("t.pdf", path.read_bytes())},
                    data={"schema": json.dumps(TEXT_SCHEMA)}), 413, "TooLargeError")


def test_settings_reject_path_like_model_names():
    from pydantic import ValidationError

    from prunestack.api.settings import Settings

    with pytest.raises(ValidationError):
        Settings(models={"../etc": "/tmp"})
    assert Settings(models={"tiny-1.0": "/tmp"}).models
