"""Scale-out on Ray (issue 19), on one real local Ray runtime shared by the whole module.

The runtime is started once (``ray.init(num_cpus=2)``, no dashboard, a 200 MB object store) and
shut down at the end; in-process runs reuse it (``ray_session`` does not start a second one) and
the CLI runs connect to it with ``--address``. Checked against the local process pool: the same
rows (``data`` included) on real synthetic PDFs plus a broken one, resume after a driver killed
mid-run, an actor process killed mid-run (every document exactly once), a file that kills its
worker every time (bounded retries, then a failure row, neighbours unharmed), Parquet output, and
``rag index --ray`` writing the same index as the local build.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests import CLI

ray = pytest.importorskip("ray", reason="pip install 'prunestack[ray]'")

from prunestack.api.batch import Job, Sink, read_parquet_rows, run_local, run_ray  # noqa: E402
from prunestack.errors import InputError  # noqa: E402
from prunestack.scaleout import Failure, map_files, ray_session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 5  # four invoices and a broken PDF
ACTOR = "_FileActor"  # in the process title of every pool actor (ray::MapWorker(MapBatches(...)))


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime for the module; its GCS address for CLI runs."""
    if ray.is_initialized():
        ray.shutdown()
    with ray_session(num_cpus=2) as r:
        yield r.get_runtime_context().gcs_address
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> tuple[Path, dict]:
    """Four real synthetic invoice PDFs, a broken PDF and a notes file that is no document."""
    from prunestack.eval.synth.generate import SynthConfig, generate

    gen = tmp_path_factory.mktemp("synth-ray")
    recs = [json.loads(x) for x in generate(SynthConfig(kind="invoice", n=N_ROWS - 1, seed=19), gen,
                                            progress=False).read_text().splitlines()]
    root = tmp_path_factory.mktemp("docs-ray")
    for rec in recs:
        src = gen / rec["context"]
        (root / src.name).write_bytes(src.read_bytes())
    (root / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (root / "notes.txt").write_text("not a document")
    return root, json.loads(recs[0]["json_schema"])


def _files(root: Path) -> list[str]:
    from prunestack.api.batch import list_documents

    return list_documents(root)


def _rows(out: Path) -> list[dict]:
    return [json.loads(x) for x in out.read_text().splitlines()]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _same_rows(a: list[dict], b: list[dict]) -> None:
    by = {r["file"]: r for r in b}
    assert sorted(r["file"] for r in a) == sorted(by)
    for r in a:
        other = by[r["file"]]
        assert set(r) == set(other), r["file"]
        for key in set(r) - {"seconds"}:
            assert r[key] == other[key], (r["file"], key)


# ---- the generic pool ---------------------------------------------------------------------------

def test_map_files_isolates_a_file_that_kills_its_worker(ray_runtime, tmp_path):
    """A file that kills its worker every time: bounded retries, then a Failure for it alone;
    its batch neighbour still gets its result; an exception is a Failure too; each path once."""
    paths = []
    for i, body in enumerate([b"a", b"bb", b"POISON", b"RAISE", b"ccccc", b"dddddd"]):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(body)
        paths.append(str(p))
    got = list(map_files(paths, _test_worker, ("t",), num_workers=2, batch_size=3, retries=1))
    assert sorted(p for p, _ in got) == sorted(paths)
    res = dict(got)
    assert isinstance(res[paths[2]], Failure) and "no result after 4 tries" in res[paths[2]].error
    assert res[paths[3]] == Failure("ValueError: bad file")
    for i in (0, 1, 4, 5):  # 0 and 1 shared the poisoned batch
        assert res[paths[i]]["n"] == len(Path(paths[i]).read_bytes())
        assert res[paths[i]]["tag"] == "t"


def _test_worker(tag: str):
    def fn(path: str, data: bytes) -> dict:
        if data == b"POISON":
            os._exit(3)  # what a segfault or the OOM killer looks like from outside
        if data == b"RAISE":
            raise ValueError("bad file")
        return {"tag": tag, "n": len(data), "pid": os.getpid()}

    return fn


# ---- extract-batch ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_rows(docs, tmp_path_factory) -> list[dict]:
    root, schema = docs
    out = tmp_path_factory.mktemp("local") / "local.jsonl"
    run_local(Job(schema), _files(root), Sink(out), workers=1)
    return _rows(out)


def test_ray_rows_equal_the_local_pool(ray_runtime, docs, local_rows, tmp_path):
    root, schema = docs
    out = tmp_path / "ray.jsonl"
    run_ray(Job(schema), _files(root), Sink(out), num_workers=2, batch_size=2)
    rows = _rows(out)
    _same_rows(rows, local_rows)
    assert len(rows) == N_ROWS and sum(not r["ok"] for r in rows) == 1
    bad = next(r for r in rows if not r["ok"])
    assert bad["file"].endswith("broken.pdf") and "PDF" in bad["error"]
    assert all(r["valid"] and r["data"]["invoice_number"] for r in rows if r["ok"])
    # run again: everything is done, nothing is written twice
    sink = Sink(out)
    run_ray(Job(schema), _files(root), sink, num_workers=2)
    assert sink.written == 0 and len(_rows(out)) == N_ROWS


def test_parquet_sink_reads_back_the_rows_and_resumes(local_rows, tmp_path):
    """The one output writer both runners use: Parquet part files read back as the rows."""
    out = tmp_path / "rows.parquet"
    sink = Sink(out, "parquet", flush_rows=2)
    assert [sink.write(r) for r in local_rows] == [True] * N_ROWS
    assert not sink.write(local_rows[0])  # an id already written: dropped
    sink.flush()
    assert len(list(out.glob("part-*.parquet"))) == -(-N_ROWS // 2)
    _same_rows(read_parquet_rows(out), local_rows)
    assert Sink(out, "parquet").seen == {r["file"] for r in local_rows}
    with pytest.raises(InputError, match="is a folder"):
        Sink(out, "jsonl")


def test_killing_an_actor_mid_run_loses_and_duplicates_nothing(ray_runtime, docs, local_rows,
                                                               tmp_path):
    import psutil

    root, schema = docs
    out = tmp_path / "kill.jsonl"
    killed: list[tuple[int, int]] = []  # (pid, rows in OUT when it was killed)
    finished = threading.Event()

    def actors() -> set[int]:
        return {p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
                if ACTOR in " ".join(p.info["cmdline"] or [])}

    before = actors()  # an earlier pool's actor still shutting down is not this job's

    def killer() -> None:
        while not finished.is_set() and not killed:
            n = len(out.read_text().splitlines()) if out.is_file() else 0
            if n >= 1:  # the pool is up and working
                for pid in sorted(actors() - before):
                    os.kill(pid, signal.SIGKILL)
                    killed.append((pid, n))
                    return
            time.sleep(0.02)

    t = threading.Thread(target=killer)
    t.start()
    try:
        run_ray(Job(schema), _files(root), Sink(out), num_workers=2, batch_size=1, retries=2)
    finally:
        finished.set()
        t.join()
    assert killed and 1 <= killed[0][1] < N_ROWS, "no actor was killed while the job ran"
    try:  # dead: gone, or a zombie its parent has not reaped yet
        assert psutil.Process(killed[0][0]).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass
    rows = _rows(out)
    assert len(rows) == N_ROWS and len({r["file"] for r in rows}) == N_ROWS
    _same_rows(rows, local_rows)  # the killed actor's batch was retried: nothing failed extra


def test_cli_ray_resume_after_the_driver_is_killed(ray_runtime, docs, local_rows, tmp_path):
    """`extract-batch --ray --address` on the running cluster: the driver is killed mid-run,
    the second run does only what is missing; each document ends up once."""
    root, _ = docs
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(docs[1]))
    out = tmp_path / "cli.jsonl"
    args = ["extract-batch", str(root), "--schema", str(schema), "--out", str(out), "--ray",
            "--address", ray_runtime, "--num-workers", "1", "--batch-size", "1"]
    proc = subprocess.Popen([*CLI, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_file() and len(out.read_text().splitlines()) >= 2:
            proc.kill()
            break
        time.sleep(0.05)
    proc.wait(60)
    first = len(_rows(out))
    assert proc.returncode == -signal.SIGKILL and 2 <= first < N_ROWS, proc.stderr.read()
    p = _cli(*args[:-4])
    assert p.returncode == 0, p.stderr
    assert f"{first} already done, {N_ROWS - first} to go" in p.stderr
    assert "extract (ray): 100%" in p.stderr and "wrote" in p.stderr
    rows = _rows(out)
    assert len(rows) == N_ROWS and len({r["file"] for r in rows}) == N_ROWS
    _same_rows(rows, local_rows)


def test_file_list_input_and_cli_errors(ray_runtime, docs, tmp_path):
    root, schema = docs
    lst = tmp_path / "list.txt"
    pdfs = sorted(root.glob("invoice-*.pdf"))[:2]
    lst.write_text(f"# two invoices\n{pdfs[0]}\n\n{os.path.relpath(pdfs[1], tmp_path)}\n")
    sfile = tmp_path / "s.json"
    sfile.write_text(json.dumps(schema))
    out = tmp_path / "list.parquet"
    p = _cli("extract-batch", str(lst), "--schema", str(sfile), "--out", str(out), "--ray",
             "--address", ray_runtime, "--format", "parquet")
    assert p.returncode == 0, p.stderr
    rows = read_parquet_rows(out)
    assert {r["file"] for r in rows} == {str(x.resolve()) for x in pdfs}
    assert all(r["ok"] and r["data"]["invoice_number"] for r in rows)
    for extra, words in [
        (["--num-workers", "2"], "--num-workers applies to --ray"),
        (["--ray", "--format", "csv"], "unknown format 'csv'"),
        (["--ray", "--address", "nowhere"], "not a Ray address"),
    ]:
        bad = _cli("extract-batch", str(lst), "--schema", str(sfile), "--out",
                   str(tmp_path / "x.jsonl"), *extra)
        assert bad.returncode == 2 and bad.stderr.count("\n") <= 2, bad.stderr
        assert words in bad.stderr.splitlines()[-1], bad.stderr
    uri = tmp_path / "uri.txt"
    uri.write_text("s3://bucket/a.pdf\n")
    bad = _cli("extract-batch", str(uri), "--schema", str(sfile), "--out", str(tmp_path / "u"))
    assert bad.returncode == 2 and "add --ray" in bad.stderr
    missing = tmp_path / "missing.txt"
    missing.write_text("nope.pdf\n")
    bad = _cli("extract-batch", str(missing), "--schema", str(sfile), "--out", str(tmp_path / "m"))
    assert bad.returncode == 2 and "not found, first:" in bad.stderr


# ---- rag index --ray ----------------------------------------------------------------------------

def test_rag_index_on_ray_writes_the_same_index(ray_runtime, tmp_path):
    import faiss

    from prunestack.retrieval.index import HtmlIndex
    from tests.retrieval.conftest import PAGES, fixture_html

    src = tmp_path / "pages"
    (src / "sub").mkdir(parents=True)
    for name in PAGES:
        (src / f"{name}.html").write_bytes(fixture_html(name))
    (src / "sub" / "empty.htm").write_text("<html><body><script>x</script></body></html>")
    (src / "broken.html").write_bytes(b"<p>caf\xe9 \xff</p>")
    local = HtmlIndex.build(src, tmp_path / "local", max_words=32)
    p = _cli("rag", "index", str(src), "--out", str(tmp_path / "ray"), "--max-words", "32",
             "--ray", "--address", ray_runtime, "--num-workers", "2")
    assert p.returncode == 0, p.stderr
    assert f"indexed {local.pages} pages, {local.blocks} blocks" in p.stdout
    assert "skipped broken.html" in p.stderr and "skipped sub/empty.htm" in p.stderr
    for table in ("pages", "blocks", "meta"):
        q = f"SELECT * FROM {table} ORDER BY 1"
        a = sqlite3.connect(tmp_path / "local" / "store.sqlite").execute(q).fetchall()
        b = sqlite3.connect(tmp_path / "ray" / "store.sqlite").execute(q).fetchall()
        assert a == b, table
    va = faiss.read_index(str(tmp_path / "local" / "index.faiss"))
    vb = faiss.read_index(str(tmp_path / "ray" / "index.faiss"))
    assert va.ntotal == vb.ntotal == local.blocks
    np.testing.assert_array_equal(va.reconstruct_n(0, va.ntotal), vb.reconstruct_n(0, vb.ntotal))
    ix = HtmlIndex.load(tmp_path / "ray")  # queried here, locally, with this process's encoder
    try:
        assert ix.query("How long can I keep the crackers?", 60).blocks[0]["page"] == \
            "recipe_blog.html"
    finally:
        ix.close()
    bad = _cli("rag", "index", str(src), "--out", str(tmp_path / "x"), "--num-workers", "2")
    assert bad.returncode == 2 and "apply to --ray" in bad.stderr


def test_without_ray_the_error_names_the_extra(monkeypatch):
    import sys

    from prunestack.errors import ConfigError

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does where it is missing
    with pytest.raises(ConfigError, match=r"Ray is not installed.*pip install 'prunestack\[ray\]'"):
        with ray_session():
            pass
