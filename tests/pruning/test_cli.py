"""`prunestack prune` / `prunestack recover` end to end on a tiny Llama with the real tokenizer."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from prunestack.api.cli import app
from tests import CLI


@pytest.fixture(scope="module")
def calib_file(tmp_path_factory):
    from prunestack.pipeline.pruning.calibration import local_english

    p = tmp_path_factory.mktemp("data") / "calib.txt"
    p.write_text("\n\n".join(local_english("calib")[:80]))
    return p


def test_prune_and_recover_cli(tiny_llama_dir, calib_file, tmp_path):
    from prunestack.pipeline.pruning import load_pruned

    out = tmp_path / "pruned"
    runner = CliRunner()
    r = runner.invoke(app, ["prune", str(tiny_llama_dir), "--out", str(out), "--method", "flap",
                            "--ratio", "0.25", "--calib", str(calib_file), "--nsamples", "4",
                            "--seqlen", "32", "--eval-seqlen", "32", "--no-latency"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "prune_report.json").read_text())
    for key in ("params_before", "params_after", "flops_per_token_before",
                "flops_per_token_after", "layers", "ppl_dense", "ppl_pruned", "ppl_seqlen",
                "wall_s", "peak_rss_mb"):
        assert key in rep
    assert rep["params_after"] < rep["params_before"] and rep["ppl_seqlen"] == 32
    assert "| layer |" in (out / "prune_report.md").read_text()
    model = load_pruned(out)
    gen = model.generate(torch.tensor([[1, 5, 9]]), max_new_tokens=3, do_sample=False)
    assert gen.shape[1] == 6
    rec = tmp_path / "rec"
    r = runner.invoke(app, ["recover", str(out), "--data", str(calib_file), "--out", str(rec),
                            "--steps", "2", "--batch", "1", "--seqlen", "32"])
    assert r.exit_code == 0, r.output
    rep = json.loads((rec / "recover_report.json").read_text())
    assert {"loss_first", "loss_last", "ppl_before", "ppl_after"} <= set(rep)
    merged = load_pruned(rec)
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_cli_bad_method_exits_nonzero(tiny_llama_dir, tmp_path):
    import subprocess

    r = subprocess.run([*CLI, "prune", str(tiny_llama_dir), "--out",
                        str(tmp_path / "x"), "--method", "bogus"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: unknown pruning method 'bogus'")


def test_prune_cli_takes_rounding_taylor_and_kept_blocks(tiny_llama_dir, calib_file, tmp_path):
    """--round-to, --taylor-order, --taylor-batch, --keep-first/--keep-last reach the recipe the
    run used (recipe.yaml beside the model) and the widths."""
    import yaml

    out = tmp_path / "pruned"
    r = CliRunner().invoke(app, ["prune", str(tiny_llama_dir), "--out", str(out), "--method",
                                 "taylor", "--ratio", "0.3", "--calib", str(calib_file),
                                 "--nsamples", "4", "--seqlen", "32", "--round-to", "16",
                                 "--taylor-order", "2", "--taylor-batch", "2",
                                 "--keep-first", "1", "--no-latency", "--eval-seqlen", "32"])
    assert r.exit_code == 0, r.output
    recipe = yaml.safe_load((out / "recipe.yaml").read_text())
    assert (recipe["round_to"], recipe["taylor_order"], recipe["taylor_batch"],
            recipe["keep_first"]) == (16, 2, 2, 1)
    rep = json.loads((out / "prune_report.json").read_text())
    widths = [layer["intermediate"] for layer in rep["layers"]]
    assert widths[0] == 128 and all(w % 16 == 0 for w in widths) and min(widths) < 128
