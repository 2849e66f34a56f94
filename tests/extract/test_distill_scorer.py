"""The pruned, distilled field scorer (issue 15, steps 4-5): ``eval.distill_scorer``.

A dense scorer is trained here from the real MiniLM on a tiny labelled folder in the user layout
(``schema.json`` + ``NAME.txt`` / ``NAME.json``), then pruned at 0.5 with the project's engine
(FLAP, calibrated on the scorer's own pairs) and distilled for a few steps. The pruned folder
must reload through ``load_scorer`` and the model registry with narrower layers, fewer
parameters, fp16 weights on disk (fp32 once loaded), a smaller folder, and still extract a value;
bad arguments are ConfigError / InputError, and the CLI runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

from prunestack.errors import ConfigError, InputError
from prunestack.eval import train_scorer as T
from prunestack.eval.distill_scorer import calibration_rows, distill
from prunestack.pipeline.extract import scorer as S
from prunestack.pipeline.schema import plan_fields

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"type": "object", "properties": {
    "invoice_number": {"type": "string", "description": "the invoice number"},
    "vendor": {"type": "string", "description": "the seller's company name"},
    "total": {"type": "number", "description": "amount due"}}}
SHOPS = ["ACME GmbH", "Nordwind Handel AG", "Bäckerei Sommer KG", "Kraus Elektro OHG",
         "Linde Papier GmbH", "Otto Metallbau AG"]


def _write_docs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    for i, shop in enumerate(SHOPS):
        net = 10 + 7 * i
        total = round(net * 1.19, 2)
        number = f"INV-2024-{100 + i}"
        (folder / f"d{i}.txt").write_text(
            f"{shop}\nHauptstrasse {i + 3}, 1011{i} Berlin\nOrder no: PO-{7781 + i}\n"
            f"Invoice number: {number}\nDate: 0{i + 1}.03.2024\nNet {net:.2f}\n"
            f"VAT 19% {total - net:.2f}\nTotal due: {total:.2f}\nThank you for your order\n",
            encoding="utf-8")
        (folder / f"d{i}.json").write_text(json.dumps(
            {"invoice_number": number, "vendor": shop, "total": total}))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(data, dense teacher, pruned student, distil summary), built once for the module."""
    root = tmp_path_factory.mktemp("distill")
    data = root / "docs"
    _write_docs(data)
    dense = root / "dense"
    T.train(data, dense, max_minutes=0.25, seed=0, progress=False)
    pruned = root / "pruned"
    summary = distill(dense, pruned, data, ratio=0.5, method="flap", minutes=1.0, seed=0,
                      max_steps=3, progress=False)
    return data, dense, pruned, summary


def _params(folder: Path) -> int:
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return sum(_prod(f.get_slice(k).get_shape()) for k in f.keys())


def _prod(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def test_pruned_scorer_reloads_narrower_fp16_on_disk_and_smaller(folders):
    _data, dense, pruned, summary = folders
    with safe_open(str(pruned / "model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    with safe_open(str(pruned / S.HEAD_FILE), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
    assert _params(pruned) < 0.85 * _params(dense)  # the layers lost parameters, not only bytes
    size = {p: sum(f.stat().st_size for f in p.iterdir()) for p in (dense, pruned)}
    assert size[pruned] < 0.45 * size[dense]  # fp16 halves, pruning takes more

    from prunestack.models import registry

    scorer = S.load_scorer(pruned)
    enc = registry().encoder(pruned)
    assert scorer.model is enc.model  # the registry's copy, rebuilt from the saved widths
    assert str(next(scorer.model.parameters()).dtype) == "torch.float32"  # upcast on CPU
    assert str(scorer.head.weight.dtype) == "torch.float32"
    widths = [layer.intermediate.dense.out_features for layer in scorer.model.encoder.layer]
    heads = [layer.attention.self.num_attention_heads for layer in scorer.model.encoder.layer]
    assert sum(widths) < 6 * 1536 and sum(heads) < 6 * 12
    assert widths == [r["intermediate"] for r in summary["pruned"]["layers"]]
    cfg = json.loads((pruned / S.CONFIG_FILE).read_text())
    assert cfg["pruned"]["ratio"] == 0.5 and cfg["pruned"]["method"] == "flap"
    assert cfg["pruned"]["teacher"] == str(dense)
    assert cfg["distill"]["steps"] == 3 and cfg["distill"]["dtype"] == "float16"
    assert cfg["max_length"] == S.read_config(dense)["max_length"]
    card = (pruned / "README.md").read_text()
    assert "--teacher" in card and "--prune 0.5" in card and "float16" in card


def test_pruned_scorer_extracts_a_value(folders):
    data, _dense, pruned, _summary = folders
    from prunestack.pipeline.extract import ExtractOptions, extract_document

    _, doc, _expected, schema = next(iter(T.documents(data)))
    got = extract_document(doc, schema, options=ExtractOptions(scorer="learned",
                                                               scorer_model=str(pruned)))
    lines = S.doc_lines(doc)
    fields = {f.name: f for f in plan_fields(schema)}
    for name in ("invoice_number", "total"):  # each value is one of the field's candidates
        cands = [c.value for c in S.candidates(lines, fields[name], None)]
        assert got.data[name] in cands, (name, got.data)
        assert got.provenance[name].text


def test_calibration_rows_are_real_pairs_without_padding(folders):
    data, dense, _pruned, _summary = folders
    import random

    from prunestack.models import load_tokenizer

    tok = load_tokenizer(dense)
    groups = []
    for _n, doc, expected, schema in T.documents(data):
        groups += T.groups_of(doc, expected, plan_fields(schema), random.Random(0), 5, 4)
    ids = calibration_rows(tok, groups, 16, 80, seed=0)
    assert ids.shape[0] == 16 and 8 <= ids.shape[1] <= 80
    assert (ids[:, 0] == tok.cls_token_id).all() and (ids[:, -1] == tok.sep_token_id).all()
    fields = {tok.decode(tok(g.field_text)["input_ids"]) for g in groups}
    for row in ids:  # [CLS] field [SEP] candidate in context ... [SEP], cut to one length
        text = tok.decode(row)
        assert any(text.startswith(f[: -len(" [SEP]")] + " [SEP]") for f in fields), text
    assert not (ids == tok.pad_token_id).any()


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.1])
def test_ratio_outside_zero_one_is_a_config_error(folders, tmp_path, ratio):
    data, dense, _pruned, _summary = folders
    with pytest.raises(ConfigError, match="between 0 and 1"):
        distill(dense, tmp_path / "o", data, ratio=ratio, minutes=1, seed=0, progress=False)


def test_bad_method_and_teacher_are_clear_errors(folders, tmp_path):
    data, dense, _pruned, _summary = folders
    with pytest.raises(ConfigError, match="unknown pruning method"):
        distill(dense, tmp_path / "o", data, ratio=0.5, method="block", minutes=1, seed=0)
    from prunestack.models import minilm_path

    with pytest.raises(InputError, match="not a scorer folder") as exc:  # a BERT, no head
        distill(minilm_path(), tmp_path / "o", data, ratio=0.5, minutes=1, seed=0)
    assert "train extractor" in exc.value.hint
    with pytest.raises(InputError, match="not a scorer folder"):
        distill(tmp_path / "missing", tmp_path / "o", data, ratio=0.5, minutes=1, seed=0)
    assert not (tmp_path / "o").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prunestack.api.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_cli_train_extractor_with_teacher_prunes_and_distils(folders, tmp_path):
    data, dense, _pruned, _summary = folders
    out = tmp_path / "p30"
    res = _cli("train", "extractor", "--data", str(data), "--out", str(out), "--teacher",
               str(dense), "--prune", "0.3", "--method", "taylor", "--max-minutes", "0.01")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)
    assert summary["pruned"]["method"] == "taylor" and summary["distill"]["steps"] >= 1
    assert summary["pruned"]["params_after"] < summary["pruned"]["params_before"]
    assert S.load_scorer(out).config["pruned"]["ratio"] == 0.3
    res = _cli("train", "extractor", "--data", str(data), "--out", str(tmp_path / "x"),
               "--teacher", str(dense), "--prune", "1.5")
    assert res.returncode != 0 and res.stderr.startswith("error: ")
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    res = _cli("train", "extractor", "--data", str(data), "--out", str(tmp_path / "x"),
               "--prune", "0.5")
    assert res.returncode != 0 and "--teacher and --prune go together" in res.stderr


def test_receipts_benchmark_runs_several_scorers_side_by_side(folders, tmp_path, monkeypatch):
    from benchmarks import bench_receipts_real as B
    from tests.extract.test_scorer import _variant, _write_sroie

    _data, dense, pruned, _summary = folders
    sroie = tmp_path / "sroie"
    for i in range(2):  # two receipts with an image: the evaluation split, mode (a) only
        _write_sroie(sroie, f"{i:03d}", *_variant(i))
    (sroie / "img").mkdir()
    from PIL import Image

    for i in range(2):
        Image.new("RGB", (460, 480), "white").save(sroie / "img" / f"{i:03d}.jpg")
    monkeypatch.setenv("PRUNESTACK_SCORER_MODEL", f"{dense},{pruned}")
    args = B._args([])
    assert args.scorer_model == [dense, pruned]  # the env list, in order
    out = tmp_path / "reports"
    B.main(["--data", str(sroie), "--n-gold", "2", "--n-images", "0", "--scorer-model",
            str(dense), "--scorer-model", str(pruned), "--out", str(out)])
    res = json.loads((out / "bench_receipts_real.json").read_text())
    assert list(res["gold_learned"]) == ["dense", "pruned"]
    rows = {r["scorer"]: r for r in res["scorers"]}
    assert rows["dense"]["speed_vs_first"] == 1.0
    assert rows["pruned"]["params"] < rows["dense"]["params"]
    assert rows["pruned"]["pruned"]["ratio"] == 0.5
    assert all(0 <= r["a_mean"] <= 1 and r["a_cpu_s"] > 0 for r in rows.values())
    md = (out / "bench_receipts_real.md").read_text()
    assert "| dense |" in md and "| pruned |" in md and "speed vs first" in md
    assert (out / "bench_receipts_real_scorers.png").stat().st_size > 1000
