"""The shipped field scorer (issue 15, step 5): in the package, small, fp16, pruned, offline, and
it reproduces its model card's metric.

- ``prunestack/weights/field-scorer`` holds the scorer files (safetensors, fp16) within 40 MB,
  with a model card and ``metrics.json``;
- it is pruned: fewer attention heads or MLP channels than all-MiniLM-L6-v2;
- it loads with the hub switched off (a fresh interpreter with ``HF_HUB_OFFLINE=1``) and is
  what ``extract`` uses by default;
- on the fixed synthetic sample its field accuracy is the card's figure (same documents, same
  weights: the same number up to one field's ranking tie).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prunestack.models import FIELD_SCORER, field_scorer_path, minilm_path

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_folder_is_small_fp16_and_has_a_card():
    from safetensors import safe_open

    folder = field_scorer_path()
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert size <= 40e6, f"{size / 1e6:.1f} MB"
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}
    assert dtypes == {"F16"}, dtypes
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert f"{metrics['sample']['accuracy']:.3f}" in card
    assert "SROIE" in card and "Retrain" in card and "licen" in card.lower()


def test_the_shipped_scorer_is_pruned_from_minilm():
    cfg = json.loads((FIELD_SCORER / "config.json").read_text(encoding="utf-8"))
    base = json.loads((minilm_path() / "config.json").read_text(encoding="utf-8"))
    widths = cfg.get("layer_widths") or cfg.get("prunestack", {})
    scorer_cfg = json.loads((FIELD_SCORER / "scorer.json").read_text(encoding="utf-8"))
    assert scorer_cfg["pruned"]["ratio"] > 0
    assert widths, "a pruned folder records its per-layer widths"
    assert cfg["hidden_size"] == base["hidden_size"]


def test_it_loads_offline_in_a_fresh_process_and_is_extracts_default():
    code = ("from prunestack.pipeline.extract import ExtractOptions\n"
            "from prunestack.pipeline.extract.scorer import load_scorer\n"
            "s = load_scorer()\n"
            "o = ExtractOptions()\n"
            "print(o.scorer, o.scorer_model, sum(p.numel() for p in s.model.parameters()),"
            " next(s.model.parameters()).dtype)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    scorer, model, params, dtype = out.stdout.split()
    assert (scorer, model, dtype) == ("auto", "None", "torch.float32")
    assert int(params) < 22_700_000  # all-MiniLM-L6-v2 has 22.7M


def test_it_reproduces_the_card_metric_on_the_fixed_sample():
    from prunestack.eval.ship_scorer import sample_accuracy
    from prunestack.pipeline.extract.scorer import load_scorer

    card = json.loads((FIELD_SCORER / "metrics.json").read_text(encoding="utf-8"))["sample"]
    got = sample_accuracy(load_scorer(), card["documents"], card["seed"])
    assert got["fields"] == card["fields"]
    assert abs(got["accuracy"] - card["accuracy"]) <= 1.0 / card["fields"] + 1e-9, (got, card)


def test_users_fine_tune_the_shipped_scorer_on_their_documents(tmp_path):
    """`train extractor --data MY_DIR --init <shipped>`: a pruned fp16 start, a folder out that
    reloads with the same (pruned) widths and extracts."""
    from prunestack.eval.train_scorer import train
    from prunestack.pipeline.extract.scorer import load_scorer

    schema = {"type": "object", "properties": {
        "order_id": {"type": "string", "description": "the order number"},
        "total": {"type": "number", "description": "amount due"}}}
    data = tmp_path / "mine"
    data.mkdir()
    (data / "schema.json").write_text(json.dumps(schema))
    for i in range(4):
        (data / f"d{i}.txt").write_text(f"ACME GmbH\nOrder: PO-{7780 + i}\nNet {10 + i}.00\n"
                                        f"Total due: {11 + i}.90\nPaid by card\n")
        (data / f"d{i}.json").write_text(json.dumps({"order_id": f"PO-{7780 + i}",
                                                     "total": 11.9 + i}))
    out = tmp_path / "tuned"
    summary = train(data, out, init=field_scorer_path(), epochs=1, max_minutes=2,
                    progress=False)
    assert summary["groups"] >= 4 and summary["init"] == str(field_scorer_path())
    shipped, tuned = load_scorer(), load_scorer(out)
    widths = [layer.attention.self.num_attention_heads for layer in tuned.model.encoder.layer]
    assert widths == [layer.attention.self.num_attention_heads
                      for layer in shipped.model.encoder.layer]  # still the pruned shape
    from prunestack.parsers.text import text_document
    from prunestack.pipeline.schema import plan_fields

    doc = text_document("ACME GmbH\nOrder: PO-9001\nNet 20.00\nTotal due: 23.80\n", name="x")
    got = tuned.extract(doc, plan_fields(schema))
    assert set(got) == {"order_id", "total"}
