"""Pruned models everywhere: a head- and FFN-pruned (non-stock) MiniLM folder is THE sentence
encoder wherever one is asked for (the registry, ``extract --encoder``, ``html prune --pruner embed
--encoder``), and a pruned tiny Llama is a speculative draft (``extract --engine generative
--draft``). Real models only: MiniLM pruned by the project's engine, Llamas from configs with the
real Mistral tokenizer; the CLI runs in subprocesses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch

import prunestack
from prunestack.errors import ConfigError, ModelError
from prunestack.models import ModelRegistry, load_encoder, load_tokenizer, registry
from prunestack.saved import read_entry
from tests import CLI

REPO = Path(__file__).resolve().parents[1]
PDF = REPO / "examples" / "sample_invoice.pdf"
SCHEMA = REPO / "examples" / "invoice_schema.json"
TEXTS = ["The harbour at Bristol closed on Monday after a storm damaged the north pier.",
         "Repairs are expected to cost 2.4 million pounds.", "", "Invoice total: EUR 1,234.50"]
SMALL = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}


def _cli(*args: object, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _one_line_error(r: subprocess.CompletedProcess, words: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_pruned_minilm_folder_is_not_stock(pruned_minilm_dir):
    entry = read_entry(pruned_minilm_dir)
    assert entry["uniform"] is False
    heads = {a.get("num_attention_heads") for a in entry["attrs"].values()}
    assert heads and max(heads) < 12  # heads removed in every layer
    # and FFN channels: a uniform width lands in the config, an uneven one in the entry
    width = json.loads((pruned_minilm_dir / "config.json").read_text())["intermediate_size"]
    widths = [s[0] for n, s in entry.get("params", {}).items()
              if n.endswith("intermediate.dense.weight")] or [width]
    assert max(widths) < 1536


def test_registry_hands_out_the_pruned_encoder_with_the_folders_embeddings(pruned_minilm_dir,
                                                                          minilm_dir):
    reg = ModelRegistry()
    enc = reg.encoder(pruned_minilm_dir)
    assert reg.encoder(str(pruned_minilm_dir) + "/.") is enc and reg.loads["encoder"] == 1
    assert type(enc.model).__name__ == "PrunedBertModel"
    assert enc.model.encoder.layer[0].attention.self.num_attention_heads < 12
    got = enc.encode(TEXTS)

    # the folder loaded directly (pruning's own loader) and pooled by hand: mean over real
    # tokens, L2-normalised, an empty text as " "
    from prunestack.pipeline.pruning import load_pruned

    model = load_pruned(pruned_minilm_dir)
    tok = load_tokenizer(minilm_dir)
    batch = tok([t or " " for t in TEXTS], padding=True, truncation=True, max_length=256,
                return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state  # [B, S, H]
    mask = batch["attention_mask"].unsqueeze(-1).float()
    want = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    # and it is a different encoder from the dense one (not MiniLM under another name)
    dense = load_encoder(minilm_dir).encode(TEXTS)
    assert np.abs(got - dense).max() > 1e-2


def test_registry_loads_a_pruned_causal_lm_like_its_folder(pruned_llama_dir, tiny_llama_dir):
    from prunestack.pipeline.pruning import load_pruned

    model = ModelRegistry().causal_lm(pruned_llama_dir, device="cpu")
    ref = load_pruned(pruned_llama_dir)
    assert model.model.layers[0].mlp.gate_proj.out_features < 128
    ids = load_tokenizer(pruned_llama_dir)("Total due: 12.50", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        torch.testing.assert_close(model(ids).logits, ref(ids).logits, rtol=0, atol=0)


def test_extract_cli_with_a_pruned_encoder(pruned_minilm_dir, tmp_path):
    r = _cli("extract", PDF, "--schema", SCHEMA, "--encoder", pruned_minilm_dir, "--provenance")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    jsonschema.validate(out["data"], json.loads(SCHEMA.read_text()))
    # the bundled invoice still reads right with 30 % of heads and FFN channels gone
    assert out["data"] == json.loads((REPO / "examples" / "sample_invoice.expected.json")
                                     .read_text())
    # and the confidences are the pruned encoder's (same folder in-process), not MiniLM's
    conf = {k: v["confidence"] for k, v in out["provenance"].items()}
    mine = prunestack.extract(PDF, schema=SCHEMA, encoder=pruned_minilm_dir)
    dense = prunestack.extract(PDF, schema=SCHEMA)
    assert conf == {k: v.confidence for k, v in mine.provenance.items()}
    assert conf != {k: v.confidence for k, v in dense.provenance.items()}
    # the option reaches the loader: a folder that is not an encoder fails, in one line
    _one_line_error(_cli("extract", PDF, "--schema", SCHEMA, "--encoder", tmp_path / "none"),
                    "model folder not found")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    r = _cli("extract", PDF, "--schema", SCHEMA, "--encoder", broken)
    assert r.returncode == 2 and "broken" in r.stderr and "Traceback" not in r.stderr


def test_facade_extract_uses_the_named_encoder(pruned_minilm_dir):
    res = prunestack.extract("Invoice No: INV-77\n\nTotal: EUR 12.50", schema=SMALL,
                             encoder=pruned_minilm_dir)
    assert res.valid and res.data["total"] == 12.5
    assert registry().holds("encoder", pruned_minilm_dir)


def test_html_prune_embed_with_a_pruned_encoder(pruned_minilm_dir, tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article>"
        "<h1>Storm closes harbour</h1><p>The harbour at Bristol closed on Monday after a "
        "storm damaged the north pier.</p><p>Bakers in Lyon won a prize for sourdough bread "
        "and croissants this year.</p><p>The football club signed a new goalkeeper from "
        "Madrid.</p></article></body></html>")
    query = "which bakery won a prize for bread?"
    r = _cli("html", "prune", page, "--query", query, "--budget", "16", "--pruner", "embed",
             "--encoder", pruned_minilm_dir, "--max-words", "20", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert "sourdough" in out["html"] and "goalkeeper" not in out["html"]
    # the block scores are the pruned encoder's (in-process, same folder), not MiniLM's
    from prunestack.retrieval.prune import PruneConfig

    cfg = PruneConfig(pruner="embed", max_words=20)
    html = page.read_text()
    mine = prunestack.prune_html(html, query, 16, pruner="embed", encoder=pruned_minilm_dir,
                                 config=cfg)
    dense = prunestack.prune_html(html, query, 16, pruner="embed", config=cfg)
    np.testing.assert_allclose(out["scores"], mine.scores, atol=1e-5)
    assert np.abs(np.array(dense.scores) - np.array(mine.scores)).max() > 1e-2
    _one_line_error(_cli("html", "prune", page, "--query", "x", "--budget", "16", "--pruner",
                         "embed", "--encoder", tmp_path / "none"), "not found")


def test_extract_generative_with_a_pruned_draft(tiny_llama_dir, pruned_llama_dir, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SMALL))
    doc = tmp_path / "inv.html"
    doc.write_text("<p>Invoice INV-77</p><p>Total: EUR 12.50</p>")
    r = _cli("extract", doc, "--schema", schema, "--engine", "generative", "--model",
             tiny_llama_dir, "--draft", pruned_llama_dir)
    assert r.returncode == 0, r.stderr
    jsonschema.validate(json.loads(r.stdout), SMALL)
    # --draft is for the generative engine only, checked before anything loads
    _one_line_error(_cli("extract", doc, "--schema", schema, "--draft", pruned_llama_dir),
                    "--draft applies to the generative engine")
    _one_line_error(_cli("extract", doc, "--schema", schema, "--engine", "generative",
                         "--model", tiny_llama_dir, "--draft", tmp_path / "none"),
                    "model folder not found")


def test_the_draft_really_drafts_and_must_share_the_vocabulary(tiny_llama_dir, pruned_llama_dir,
                                                               tmp_path, monkeypatch):
    import prunestack.pipeline.decoding.generate as gen

    calls: list[int] = []
    real = gen.speculative_generate

    def spy(target, draft, *args, **kw):
        calls.append(draft.model.layers[0].mlp.gate_proj.out_features)
        return real(target, draft, *args, **kw)

    monkeypatch.setattr(gen, "speculative_generate", spy)
    res = prunestack.extract("Invoice INV-77\n\nTotal: EUR 12.50", schema=SMALL,
                             engine="generative", model=tiny_llama_dir, draft=pruned_llama_dir,
                             max_new_tokens=32)
    jsonschema.validate(res.data, SMALL)
    assert calls and calls[0] < 128  # the pruned draft proposed the tokens

    from transformers import LlamaForCausalLM

    from tests.conftest import tiny_llama_config

    other = tmp_path / "other-vocab"
    LlamaForCausalLM(tiny_llama_config(vocab_size=1000)).save_pretrained(other)
    with pytest.raises(ModelError, match="vocabulary of 1000 tokens"):
        prunestack.extract("Total: EUR 12.50", schema=SMALL, engine="generative",
                           model=tiny_llama_dir, draft=other)
    with pytest.raises(ConfigError, match="generative engine"):
        prunestack.extract("Total: EUR 12.50", schema=SMALL, draft=pruned_llama_dir)


def test_rag_index_with_a_pruned_encoder_and_query_uses_it(pruned_minilm_dir, tmp_path):
    import sqlite3

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "a.html").write_text("<article><p>Bakers in Lyon won a prize for sourdough bread "
                                  "this year.</p></article>")
    (pages / "b.html").write_text("<article><p>The football club signed a new goalkeeper from "
                                  "Madrid.</p></article>")
    r = _cli("rag", "index", pages, "--out", tmp_path / "ix", "--encoder", pruned_minilm_dir)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(tmp_path / "ix" / "store.sqlite")
    recorded = dict(con.execute("SELECT key, value FROM meta").fetchall())["encoder"]
    con.close()
    assert Path(recorded).resolve() == pruned_minilm_dir.resolve()  # the query embeds with it
    question = "who won a prize for bread?"
    r = _cli("rag", "query", tmp_path / "ix", question, "--budget", "40", "--json")
    assert r.returncode == 0, r.stderr
    got = {b["text"]: b["score"] for b in json.loads(r.stdout)["blocks"]}
    texts = sorted(got)
    assert len(texts) == 2 and "sourdough" in max(got, key=got.get)
    # the scores are the pruned encoder's cosines, not the dense MiniLM's
    pruned = registry().encoder(pruned_minilm_dir)
    want = pruned.encode(texts) @ pruned.encode([question])[0]
    np.testing.assert_allclose([got[t] for t in texts], want, atol=1e-5)
    dense = registry().encoder()
    assert np.abs(dense.encode(texts) @ dense.encode([question])[0] - want).max() > 1e-2


def test_a_causal_lm_is_not_taken_for_an_encoder(pruned_llama_dir, tiny_llama_dir):
    for folder in (pruned_llama_dir, tiny_llama_dir):
        with pytest.raises(ModelError, match=r"generative model \(LlamaForCausalLM\), not a "
                                             r"sentence encoder"):
            load_encoder(folder)


def test_serve_and_batch_take_the_options(pruned_minilm_dir, tiny_llama_dir, tmp_path):
    _one_line_error(_cli("serve", "--encoder", tmp_path / "none"), "folder not found")
    _one_line_error(_cli("serve", "--encoder", tiny_llama_dir), "not a sentence encoder")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.html").write_text("<p>Invoice INV-77</p><p>Total: EUR 12.50</p>")
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SMALL))
    out = tmp_path / "out.jsonl"
    r = _cli("extract-batch", docs, "--schema", schema, "--out", out, "--workers", "1",
             "--encoder", pruned_minilm_dir)
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    assert rec["ok"] and rec["data"] == {"total": 12.5}
    _one_line_error(_cli("extract-batch", docs, "--schema", schema, "--out", out, "--draft",
                         tiny_llama_dir), "--draft applies to the generative engine")
