"""The model registry (ground): one MiniLM per process, loads once under threads, and the one
sentence encoder giving each caller the vectors it was measured with."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from prunestack.errors import ModelError
from prunestack.models import ModelRegistry, registry

REPO = Path(__file__).resolve().parents[1]

ONE_PROCESS = r"""
import json, sys
from pathlib import Path

import transformers

loads = []
_orig = transformers.PreTrainedModel.from_pretrained.__func__


def _counting(cls, path, *args, **kwargs):
    loads.append(str(Path(path).resolve()))
    return _orig(cls, path, *args, **kwargs)


transformers.PreTrainedModel.from_pretrained = classmethod(_counting)

from prunestack.models import minilm_path, registry
from prunestack.pipeline.extract import extract_file
from prunestack.retrieval.prune import prune_html

examples = Path(sys.argv[1])
res = extract_file(examples / "sample_invoice.pdf", examples / "invoice_schema.json")
page = ("<html><body><nav>Home | Shop | Contact</nav><article><h1>Opening hours</h1>"
        "<p>The harbour office opens at nine and closes at five on weekdays.</p>"
        "<p>Ferry tickets are sold at the quay from eight in the morning.</p></article>"
        "</body></html>")
pruned = prune_html(page, "when does the harbour office open?", 20, pruner="embed")
print(json.dumps({"data": res.data, "html": pruned.html, "loads": loads,
                  "minilm": str(minilm_path().resolve()),
                  "registry_loads": dict(registry().loads)}))
"""


def test_extract_then_embed_pruning_loads_minilm_once(tmp_path):
    """Acceptance: in one fresh process, extracting the sample invoice and then pruning HTML with
    the embedding pruner loads MiniLM's weights exactly once (every from_pretrained counted)."""
    r = subprocess.run([sys.executable, "-c", ONE_PROCESS, str(REPO / "examples")],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    expected = json.loads((REPO / "examples" / "sample_invoice.expected.json").read_text())
    assert out["data"] == expected  # the extraction really ran
    assert "harbour office opens at nine" in out["html"]  # and so did the embedding pruner
    assert out["loads"].count(out["minilm"]) == 1, out["loads"]
    assert out["registry_loads"] == {"encoder": 1}


def test_two_threads_asking_for_one_model_load_it_once(monkeypatch):
    calls: list[str] = []

    def slow_load(folder, device="cpu"):
        calls.append(str(folder))
        time.sleep(0.2)
        return object()

    monkeypatch.setattr("prunestack.models.load_encoder", slow_load)
    reg = ModelRegistry()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(reg.encoder("/x/minilm")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)
    assert reg.loads["encoder"] == 1 and reg.holds("encoder", "/x/minilm")
    assert not reg.holds("encoder", "/x/other") and not reg.holds("causal_lm")


def test_a_slow_load_does_not_block_other_models(monkeypatch):
    started, release = threading.Event(), threading.Event()

    def load(folder, device="cpu"):
        if str(folder).endswith("slow"):
            started.set()
            release.wait(5)
        return str(folder)

    monkeypatch.setattr("prunestack.models.load_encoder", load)
    reg = ModelRegistry()
    reg.encoder("/x/fast")
    slow = threading.Thread(target=reg.encoder, args=("/x/slow",))
    slow.start()
    assert started.wait(5)
    t0 = time.perf_counter()
    assert reg.encoder("/x/fast") == "/x/fast"  # a held model is handed out meanwhile
    assert time.perf_counter() - t0 < 1.0
    release.set()
    slow.join()
    assert reg.loads["encoder"] == 2


def test_a_failed_load_is_retried(monkeypatch):
    tries: list[int] = []

    def flaky(folder, device="cpu"):
        tries.append(1)
        if len(tries) == 1:
            raise ModelError("disk hiccup")
        return "ok"

    monkeypatch.setattr("prunestack.models.load_encoder", flaky)
    reg = ModelRegistry()
    with pytest.raises(ModelError):
        reg.encoder("/x/m")
    assert reg.encoder("/x/m") == "ok" and reg.loads["encoder"] == 1


def test_default_encoder_and_its_folder_are_one_model(minilm_dir):
    """Naming MiniLM's folder (what an index stores) gives the same object as the default."""
    reg = registry()
    assert reg.encoder() is reg.encoder(minilm_dir) is reg.encoder(str(minilm_dir) + "/.")


def test_missing_folders_are_model_errors(tmp_path):
    from prunestack.models import load_causal_lm, load_encoder

    with pytest.raises(ModelError, match="not found"):
        load_encoder(tmp_path / "missing")
    with pytest.raises(ModelError, match="not found"):
        load_causal_lm(tmp_path / "missing")


# ---- the one encoder keeps each caller's numbers -----------------------------------------------

TEXTS = ["Invoice number", "", "Total amount due (GBP)",
         "The tidal plant has four turbines and makes power for twelve thousand homes. " * 3,
         "Invoice number", "VAT", "Ferry timetables change in spring; ask the harbour office."]


def _reference(enc, batches: list[list[str]], max_length: int) -> dict[str, np.ndarray]:
    """Mean pooling + L2 normalisation, batch by batch, written out independently."""
    import torch

    out = {}
    for batch in batches:
        t = enc.tokenizer(batch, padding=True, truncation=True, max_length=max_length,
                          return_tensors="pt")
        with torch.inference_mode():
            h = enc.model(**t).last_hidden_state
        m = t["attention_mask"].unsqueeze(-1).float()
        v = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1).numpy()
        out.update(zip(batch, v, strict=True))
    return out


def test_passage_vectors_batch_longest_first_without_cache():
    enc = registry().encoder()
    got = enc.encode(TEXTS, batch_size=3)  # [7, 384]
    order = sorted(range(len(TEXTS)), key=lambda j: -len(TEXTS[j]))
    batches = [[TEXTS[j] or " " for j in order[i:i + 3]] for i in range(0, len(TEXTS), 3)]
    ref = _reference(enc, batches, 256)
    np.testing.assert_array_equal(got, np.stack([ref[t or " "] for t in TEXTS]))
    assert np.linalg.norm(got[1]) == pytest.approx(1.0, abs=1e-5)  # "" embeds as " "


def test_short_text_vectors_are_cached_per_max_length():
    enc = registry().encoder()
    enc._cache.clear()
    got = enc.encode_cached(TEXTS)  # distinct texts in first-seen order, one batch
    uniq = [t for t in dict.fromkeys(TEXTS) if t.strip()]
    ref = _reference(enc, [uniq], 128)
    np.testing.assert_array_equal(got, np.stack([ref.get(t, np.zeros(384)) for t in TEXTS]))
    assert not got[1].any()  # an empty text is a zero vector here
    short = enc.encode_cached([TEXTS[3]], max_length=8)[0]  # same text, cut at 8 tokens
    assert float(short @ got[3]) < 0.999  # a different vector, not the cached 128-token one
    np.testing.assert_array_equal(enc.encode_cached([TEXTS[3]])[0], got[3])
    np.testing.assert_array_equal(enc.encode_cached([TEXTS[3]], max_length=8)[0], short)
    sim = enc.similarity(["invoice number"], ["Invoice number", "VAT"])
    assert sim.shape == (1, 2) and sim[0, 0] > sim[0, 1]
