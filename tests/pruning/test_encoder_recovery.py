"""Encoder recovery: a pruned real MiniLM distilled from the dense one on the built-in corpus
gets closer to it on text of another source, saves as a folder the registry loads, and the CLI
refuses an encoder without its teacher in one line; the layer-wise loss pulls every
intermediate layer towards the teacher's, which the last-layer loss alone does less; the
least-squares refit of the FFN outputs solves its normal equations right (residual checked
directly) and brings every layer closer."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch

import prunestack
from prunestack.errors import ConfigError
from prunestack.models import load_encoder
from prunestack.pipeline.pruning.calibration import builtin_corpus
from prunestack.pipeline.pruning.engine import load_any
from prunestack.pipeline.pruning.recovery import (
    RecoveryOptions,
    _ffn_io,
    distill_encoder,
    recover,
    refit_ffn_outputs,
    token_mse,
)
from tests import CLI


@pytest.fixture(scope="module")
def ffn_pruned(tmp_path_factory, minilm_dir):
    out = tmp_path_factory.mktemp("minilm-ffn50")
    prunestack.prune_model(minilm_dir, out, method="flap", ratio=0.5, structures=["channels"],
                           allocation="uniform", nsamples=16, seqlen=64)
    return out


def test_distillation_brings_the_pruned_encoder_closer(ffn_pruned, minilm_dir, tmp_path):
    out = tmp_path / "recovered"
    rep = recover(ffn_pruned, None, out, RecoveryOptions(steps=30, batch=16, seqlen=48,
                                                         lr=3e-4, teacher=str(minilm_dir),
                                                         refit_texts=128))
    assert len(rep["refit_residuals"]) == 6 and rep["layerwise"]
    assert rep["refit"]["cosine"] > rep["before"]["cosine"]
    assert rep["after"]["cosine"] > rep["before"]["cosine"] + 0.02
    saved = json.loads((out / "config.json").read_text())
    assert saved["intermediate_size"] == 768  # still the pruned width: a stock BERT folder
    assert saved["prunestack"]["recovery"]["after"] == rep["after"]
    enc = load_encoder(out)  # the registry's loader reads the recovered folder
    assert enc.encode(["an invoice total"]).shape == (1, 384)
    assert (out / "recover_report.md").is_file()


def test_encoder_recovery_needs_the_dense_teacher(ffn_pruned, tmp_path):
    with pytest.raises(ConfigError, match="--teacher"):
        recover(ffn_pruned, None, tmp_path / "x", RecoveryOptions(steps=1))
    r = subprocess.run([*CLI, "recover", str(ffn_pruned), "--out", str(tmp_path / "y"),
                        "--steps", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--teacher" in lines[0] and "Traceback" not in r.stderr


def test_token_mse_ignores_padding():
    a, b = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    b[0, :2] = 2.0  # real tokens differ by 2 in every feature
    b[1, 2] = 100.0  # a padded position: must not count
    mask = torch.tensor([[1, 1, 0], [1, 1, 0]])
    assert float(token_mse(a, b, mask)) == pytest.approx(4 * 2 / 4)


def _intermediate_mse(model, teacher, tok) -> float:
    enc = tok(builtin_corpus("heldout")[:24], padding=True, truncation=True, max_length=48,
              return_tensors="pt")
    with torch.no_grad():
        s = model(**enc, output_hidden_states=True).hidden_states[1:-1]
        t = teacher(**enc, output_hidden_states=True).hidden_states[1:-1]
    return sum(float(token_mse(a, b, enc["attention_mask"])) for a, b in zip(s, t, strict=True))


def test_layerwise_loss_pulls_intermediate_layers_to_the_teacher(ffn_pruned, minilm_dir,
                                                                  tmp_path):
    teacher, _ = load_any(minilm_dir)
    mse = {}
    for weight in (0.0, 1.0):
        model, tok = load_any(ffn_pruned)
        before = _intermediate_mse(model, teacher, tok)
        rep = distill_encoder(model, tok, builtin_corpus("calib")[:400], tmp_path / f"w{weight}",
                              RecoveryOptions(steps=20, batch=16, seqlen=48, lr=3e-4,
                                              teacher=str(minilm_dir), layer_weight=weight,
                                              refit_texts=0))
        assert rep["layerwise"] is (weight > 0) and rep["refit_residuals"] is None
        assert rep["loss_last"] < rep["loss_first"]
        mse[weight] = _intermediate_mse(model, teacher, tok)
    # measured: 0.268 before, 0.291 last layer only, 0.240 layer-wise
    assert mse[1.0] < before and mse[1.0] < 0.9 * mse[0.0]


def _layer0_residual(model, teacher, tok, texts) -> float:
    enc = tok(texts, padding=True, truncation=True, max_length=48, return_tensors="pt")
    real = enc["attention_mask"].bool()
    s = _ffn_io(model, model.encoder.layer[0], enc)
    t = _ffn_io(teacher, teacher.encoder.layer[0], enc)
    with torch.no_grad():
        got = model.encoder.layer[0].output.dense(s["inter"])[real]
    want = (t["pre"] - s["attn"])[real]
    return float(((got - want) ** 2).sum() / (want ** 2).sum())


def test_ffn_refit_solves_least_squares_and_helps(ffn_pruned, minilm_dir):
    teacher, _ = load_any(minilm_dir)
    model, tok = load_any(ffn_pruned)
    texts = builtin_corpus("calib")[:96]
    held_before = _intermediate_mse(model, teacher, tok)
    r_before = _layer0_residual(model, teacher, tok, texts)
    res = refit_ffn_outputs(model, teacher, tok, texts, seqlen=48, ridge=0.0, chunk=32)
    assert res is not None and len(res) == model.config.num_hidden_layers
    r_after = _layer0_residual(model, teacher, tok, texts)
    assert r_after == pytest.approx(res[0], rel=1e-3, abs=1e-4)  # its own residual is right
    assert r_after < 0.8 * r_before  # least squares beats the pruned weights on its data
    assert _intermediate_mse(model, teacher, tok) < 0.8 * held_before  # and on held-out text
    shallow, _ = load_any(ffn_pruned)
    del shallow.encoder.layer[-1]  # another depth: nothing to pair layers with
    assert refit_ffn_outputs(shallow, teacher, tok, texts[:4]) is None
