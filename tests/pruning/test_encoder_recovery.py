"""Encoder recovery: a pruned real MiniLM distilled from the dense one on the built-in corpus
gets closer to it on text of another source, saves as a folder the registry loads, and the CLI
refuses an encoder without its teacher in one line."""

from __future__ import annotations

import json
import subprocess

import pytest

import prunestack
from prunestack.errors import ConfigError
from prunestack.models import load_encoder
from prunestack.pipeline.pruning.recovery import RecoveryOptions, recover
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
                                                         lr=3e-4, teacher=str(minilm_dir)))
    assert rep["after"]["cosine"] > rep["before"]["cosine"] + 0.02
    assert rep["loss_last"] < rep["loss_first"]
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
