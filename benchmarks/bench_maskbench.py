"""MaskBench: do grammar engines accept exactly a real schema's language, how fast, how soon?

Over ``../shared/data/maskbench-dev`` (400 real schemas, each with valid and invalid instances;
``--data`` or ``$PRUNESTACK_MASKBENCH_DATA`` to point elsewhere), for each engine × tokenizer:
each test instance is serialised compactly as raw UTF-8, tokenised so the token bytes equal the
text (``pipeline.decoding.walk.exact_tokens``: the tokenizer's own encoding, else a greedy
longest match with byte-fallback tokens), and walked token by token (fill the packed mask, check
the token is allowed, advance; at the end EOS must be allowed). A schema passes when it compiles
(within ``--timeout`` seconds) and every valid instance is accepted and every invalid one refused.

Engines, side by side in one run: ``prunestack`` (``compile_schema(..., backend="auto")``),
``llguidance`` direct (its ``grammar_from_json_schema`` + ``LLMatcher``, compact whitespace like
ours) and ``xgrammar`` direct (``GrammarCompiler.compile_json_schema(strict_mode=False)``).
Tokenizers: Mistral 32k (SentencePiece) and Tekken 131k (BPE). Columns: compiled, passing, false
rejects, false accepts (the serious kind), mask mean / p99 µs, time to first mask (TTFM: compile
+ first mask, cold: every cache cleared) p50 / p90 ms, and for prunestack the cache-hit compile
p50 ms.

Writes ``reports/maskbench.{json,md,png}`` (the JSON also per schema: passed, TTFM, mask mean)
and ``reports/maskbench-failures.jsonl`` (one line per engine × tokenizer × schema that did not
pass: the compile error, or each misjudged instance with the token where the walk stopped).
Run: ``python -m benchmarks.run_all maskbench`` or
``python -m benchmarks.run_all maskbench --limit 60 --engines prunestack,llguidance``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "maskbench-dev"
REPORTS = Path("reports")
ENGINES = ("prunestack", "llguidance", "xgrammar")
TOKENIZERS = ("mistral-32k", "tekken-131k")


def data_dir() -> Path:
    return Path(os.environ.get("PRUNESTACK_MASKBENCH_DATA", str(DEFAULT_DATA)))


def _args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--limit", type=int, default=0, help="first N schemas (sorted by name)")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--tokenizers", default=",".join(TOKENIZERS))
    ap.add_argument("--timeout", type=float, default=10.0, help="compile limit per schema, s")
    ap.add_argument("--out", type=Path, default=REPORTS)
    return ap.parse_args(argv)


def load_cases(data: Path, limit: int = 0) -> list[tuple[str, dict[str, Any], list[dict]]]:
    files = sorted(data.glob("*.json"))
    if limit:
        files = files[:limit]
    out = []
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        out.append((f.stem, doc["schema"], doc["tests"]))
    return out


# ---------------------------------------------------------------- engines
# Each engine: compile(schema, tokenizer, timeout) -> matcher with fill_bitmask / advance /
# reset / vocab_size / eos_token_id (the Matcher protocol's walking part); raises on refusal.


def _in_time(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(fn).result(timeout=timeout)
    except concurrent.futures.TimeoutError as exc:
        raise TimeoutError(f"{what} did not compile within {timeout:g} s") from exc
    finally:
        pool.shutdown(wait=False)


def prunestack_engine(schema: dict, tokenizer: Any, timeout: float) -> Any:
    from prunestack.pipeline.decoding import compile_schema

    return compile_schema(schema, tokenizer, backend="auto", compile_timeout_s=timeout)


class _LLGDirect:
    """llguidance used directly, as its own docs show (no preparation of the schema)."""

    def __init__(self, m: Any, llt: Any) -> None:
        self._m, self.vocab_size, self.eos_token_id = m, int(llt.vocab_size), int(llt.eos_token)

    def fill_bitmask(self, row: Any) -> None:
        self._m.unsafe_compute_mask_ptr(row.data_ptr(), row.numel() * 4)

    def advance(self, token: int) -> None:
        if not self._m.consume_token(int(token)):
            raise ValueError(self._m.get_error())

    def reset(self) -> None:
        self._m.reset()


def llguidance_engine(schema: dict, tokenizer: Any, timeout: float) -> Any:
    import llguidance

    from prunestack.pipeline.decoding.vocab import llg_tokenizer

    llt = llg_tokenizer(tokenizer)

    def build() -> Any:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            schema, defaults={"whitespace_flexible": False})
        m = llguidance.LLMatcher(llt, grammar, log_level=0)
        if m.is_error():
            raise ValueError(m.get_error())
        return m

    return _LLGDirect(_in_time(build, timeout, "llguidance"), llt)


class _XGRDirect:
    def __init__(self, compiled: Any, n: int, eos: int) -> None:
        import xgrammar

        self._m = xgrammar.GrammarMatcher(compiled)
        self.vocab_size, self.eos_token_id = n, eos

    def fill_bitmask(self, row: Any) -> None:
        self._m.fill_next_token_bitmask(row)

    def advance(self, token: int) -> None:
        if not self._m.accept_token(int(token)):
            raise ValueError("refused")

    def reset(self) -> None:
        self._m.reset()


def _finishes_in_time(fn: Callable[[], Any], timeout: float) -> bool:
    """Whether ``fn`` returns (or fails) within ``timeout`` s in a forked child. xgrammar's
    compile holds the GIL, so a thread's timeout cannot stop it: the child is killed instead."""
    pid = os.fork()
    if pid == 0:  # the child: run and leave without cleanup
        try:
            fn()
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return True
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def _xgrammar_build(schema: dict, tokenizer: Any) -> Any:
    import xgrammar

    from prunestack.pipeline.decoding.backends import _captured_stderr
    from prunestack.pipeline.decoding.vocab import xgr_tokenizer_info

    compiler = xgrammar.GrammarCompiler(xgr_tokenizer_info(tokenizer), max_threads=1,
                                        cache_enabled=False)
    with _captured_stderr():  # its warnings (it still compiles)
        return compiler.compile_json_schema(json.dumps(schema), strict_mode=False)


def xgrammar_screen(schema: dict, tokenizer: Any, timeout: float) -> None:
    """Before the timed compile (not counted in TTFM): compile in a child process, so one that
    would run past the limit counts as not compiled instead of hanging the run."""
    if not _finishes_in_time(lambda: _xgrammar_build(schema, tokenizer), timeout):
        raise TimeoutError(f"xgrammar did not compile within {timeout:g} s")


def xgrammar_engine(schema: dict, tokenizer: Any, timeout: float) -> Any:
    from prunestack.pipeline.decoding.vocab import eos_id, vocab_size

    return _XGRDirect(_xgrammar_build(schema, tokenizer), vocab_size(tokenizer),
                      eos_id(tokenizer))


SCREENS: dict[str, Callable[[dict, Any, float], None]] = {"xgrammar": xgrammar_screen}
ENGINE_FNS: dict[str, Callable[[dict, Any, float], Any]] = {
    "prunestack": prunestack_engine, "llguidance": llguidance_engine,
    "xgrammar": xgrammar_engine}


def clear_caches() -> None:
    """Cold start for prunestack: compiled artefacts, prepared schemas, meta-schema checks."""
    from prunestack.pipeline.decoding import backends

    backends.clear_caches()
    os.environ["PRUNESTACK_CACHE"] = tempfile.mkdtemp(prefix="maskbench-cache-")


# ---------------------------------------------------------------- the walk


def run_schema(engine: str, name: str, schema: dict, tests: list[dict], tokenizer: Any,
               encoded: list[list[int] | None], timeout: float) -> dict[str, Any]:
    """One schema on one engine: compile cold, walk every instance; the per-schema record."""
    import torch

    from prunestack.pipeline.decoding.vocab import token_bytes
    from prunestack.pipeline.decoding.walk import walk

    rec: dict[str, Any] = {"schema": name, "engine": engine, "compiled": False, "passed": False,
                           "false_accepts": 0, "false_rejects": 0, "masks": []}
    if engine == "prunestack":
        clear_caches()
    try:
        if engine in SCREENS:
            SCREENS[engine](schema, tokenizer, timeout)
    except Exception as exc:
        rec["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return rec
    t0 = time.perf_counter()
    try:
        m = ENGINE_FNS[engine](schema, tokenizer, timeout)
        row = torch.zeros((m.vocab_size + 31) // 32, dtype=torch.int32)
        m.fill_bitmask(row)
    except Exception as exc:
        rec["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return rec
    rec["ttfm_ms"] = (time.perf_counter() - t0) * 1e3
    rec["compiled"] = True
    if engine == "prunestack":
        rec["backend"] = m.backend
        t0 = time.perf_counter()
        ENGINE_FNS[engine](schema, tokenizer, timeout)
        rec["hit_ms"] = (time.perf_counter() - t0) * 1e3
    tb = token_bytes(tokenizer)
    failures = []
    for i, (test, ids) in enumerate(zip(tests, encoded, strict=True)):
        if ids is None:
            continue
        m.reset()
        w = walk(m, ids)
        rec["masks"].extend(w.mask_seconds)
        if w.accepted != bool(test["valid"]):
            kind = "false_accepts" if w.accepted else "false_rejects"
            rec[kind] += 1
            at = w.rejected_at
            fail = {"test": i, "description": test.get("description", ""),
                    "valid": bool(test["valid"]), "accepted": w.accepted}
            if at is not None:
                done = b"".join(tb[t] or b"" for t in ids[:at]).decode(errors="replace")
                fail.update(rejected_at=at, token=("<eos>" if at == len(ids) else
                                                   (tb[ids[at]] or b"").decode(errors="replace")),
                            text_before=done[-60:])
            failures.append(fail)
    rec["passed"] = not failures
    if failures:
        rec["failures"] = failures
    return rec


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    masks = [s for r in records for s in r["masks"]]
    ttfm = [r["ttfm_ms"] for r in records if r["compiled"]]
    hits = [r["hit_ms"] for r in records if "hit_ms" in r]
    out = {
        "schemas": len(records),
        "compiled": sum(r["compiled"] for r in records),
        "passing": sum(r["passed"] for r in records),
        "false_rejects": sum(r["false_rejects"] for r in records),
        "false_accepts": sum(r["false_accepts"] for r in records),
        "mask_mean_us": statistics.fmean(masks) * 1e6 if masks else float("nan"),
        "mask_p99_us": _pct(masks, 0.99) * 1e6,
        "ttfm_p50_ms": _pct(ttfm, 0.5), "ttfm_p90_ms": _pct(ttfm, 0.9),
        "masks": len(masks),
    }
    if hits:
        out["hit_p50_ms"] = _pct(hits, 0.5)
        backends: dict[str, int] = {}
        for r in records:
            if "backend" in r:
                backends[r["backend"]] = backends.get(r["backend"], 0) + 1
        out["backends"] = backends
    return out


def encode_tests(tokenizer: Any, tests: list[dict]) -> tuple[list[list[int] | None], int]:
    """Exact token ids of each instance (None: not serialisable, e.g. NaN); and how many needed
    the greedy byte-table encoding."""
    from prunestack.errors import PrunestackError
    from prunestack.pipeline.decoding.walk import compact, exact_tokens

    out: list[list[int] | None] = []
    greedy = 0
    for t in tests:
        try:
            ids, own = exact_tokens(tokenizer, compact(t["data"]))
        except (ValueError, PrunestackError):  # NaN / a byte with no token
            out.append(None)
            continue
        greedy += not own
        out.append(ids)
    return out, greedy


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = _args(argv if argv is not None else [])
    if not args.data.is_dir():
        print(f"skipped: no MaskBench data at {args.data} (set PRUNESTACK_MASKBENCH_DATA or "
              "--data; the dev set is not shipped)")
        return None
    import torch
    from tqdm import tqdm

    from benchmarks.bench_decoding import mistral_tokenizer, tekken_tokenizer

    torch.set_num_threads(1)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    engines = [e for e in args.engines.split(",") if e]
    toks = [t for t in args.tokenizers.split(",") if t]
    cases = load_cases(args.data, args.limit)
    makers = {"mistral-32k": mistral_tokenizer, "tekken-131k": tekken_tokenizer}
    result: dict[str, Any] = {"data": str(args.data), "schemas": len(cases),
                              "timeout_s": args.timeout, "table": {}}
    args.out.mkdir(parents=True, exist_ok=True)
    fail_path = args.out / "maskbench-failures.jsonl"
    from prunestack.pipeline.decoding.vocab import llg_tokenizer, xgr_tokenizer_info

    with tempfile.TemporaryDirectory() as tmp, fail_path.open("w", encoding="utf-8") as fails:
        loaded: dict[str, tuple[Any, list]] = {}
        for tname in toks:
            tok = makers[tname](Path(tmp))
            encoded = []
            greedy = 0
            for _, _, tests in cases:
                ids, g = encode_tests(tok, tests)
                encoded.append(ids)
                greedy += g
            result.setdefault("greedy_encodings", {})[tname] = greedy
            llg_tokenizer(tok)  # the tokenizer conversions, outside the timed compiles
            xgr_tokenizer_info(tok)
            loaded[tname] = (tok, encoded)
        # xgrammar last: a compile it abandons at the time limit keeps a core busy meanwhile
        legs = sorted(((e, t) for t in toks for e in engines), key=lambda et: et[0] == "xgrammar")
        for engine, tname in legs:
            tok, encoded = loaded[tname]
            records = []
            for (name, schema, tests), ids in tqdm(list(zip(cases, encoded, strict=True)),
                                                   desc=f"{engine} {tname}", mininterval=5):
                rec = run_schema(engine, name, schema, tests, tok, ids, args.timeout)
                if not rec["passed"]:
                    fails.write(json.dumps({"tokenizer": tname, **{
                        k: v for k, v in rec.items() if k != "masks"}}) + "\n")
                records.append(rec)
            row = summarise(records)
            result["table"][f"{engine} / {tname}"] = row
            result.setdefault("per_schema", {})[f"{engine} / {tname}"] = {
                r["schema"]: {"passed": r["passed"], "ttfm_ms": r.get("ttfm_ms"),
                              "mask_mean_us": (statistics.fmean(r["masks"]) * 1e6
                                               if r["masks"] else None),
                              "masks": len(r["masks"]), "backend": r.get("backend")}
                for r in records}
            write_reports(result, args.out, quiet=True)  # so far: a cut-short run keeps its legs
            print(f"{engine:11} {tname:12} " + " ".join(
                f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()), flush=True)
    write_reports(result, args.out)
    return result


def table_md(result: dict[str, Any]) -> str:
    lines = [f"MaskBench-dev: {result['schemas']} schemas, compile limit {result['timeout_s']:g} s "
             "(TTFM cold: compile + first mask, caches cleared)", "",
             "| engine / tokenizer | compiled | passing | false rejects | false accepts | "
             "mask mean µs | mask p99 µs | TTFM p50 ms | TTFM p90 ms | cache hit p50 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for k, r in result["table"].items():
        hit = f"{r['hit_p50_ms']:.3f}" if "hit_p50_ms" in r else "–"
        lines.append(f"| {k} | {r['compiled']} | {r['passing']} | {r['false_rejects']} | "
                     f"{r['false_accepts']} | {r['mask_mean_us']:.1f} | {r['mask_p99_us']:.1f} | "
                     f"{r['ttfm_p50_ms']:.2f} | {r['ttfm_p90_ms']:.2f} | {hit} |")
    return "\n".join(lines) + "\n"


def write_reports(result: dict[str, Any], out: Path, quiet: bool = False) -> None:
    (out / "maskbench.json").write_text(json.dumps(result, indent=2))
    md = table_md(result)
    (out / "maskbench.md").write_text(md)
    if not quiet:
        print(md)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["table"])
    rows = [result["table"][n] for n in names]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ys = range(len(names))
    axes[0].barh(ys, [r["passing"] for r in rows], label="passing")
    axes[0].barh(ys, [r["false_accepts"] for r in rows], color="red", label="false accepts")
    axes[0].set_title("schemas passing / instances falsely accepted")
    axes[1].barh(ys, [r["mask_mean_us"] for r in rows])
    axes[1].set_title("mask mean (µs)")
    axes[2].barh([y - 0.2 for y in ys], [r["ttfm_p50_ms"] for r in rows], height=0.4, label="p50")
    axes[2].barh([y + 0.2 for y in ys], [r["ttfm_p90_ms"] for r in rows], height=0.4, label="p90")
    axes[2].set_xscale("log")
    axes[2].set_title("time to first mask, cold (ms)")
    for ax in axes:
        ax.set_yticks(list(ys))
        ax.set_yticklabels(names if ax is axes[0] else [])
        ax.legend() if ax is not axes[1] else None
    fig.tight_layout()
    fig.savefig(out / "maskbench.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
