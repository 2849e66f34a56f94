"""The method table: every registered method prunes and reloads; recipes, CLI and docs follow it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from prunestack.errors import ConfigError, ModelError
from prunestack.pipeline.pruning import METHODS, PruneRecipe, load_pruned, prune, save_pruned
from tests.pruning.conftest import build

REPO = Path(__file__).resolve().parents[2]


def _logits(model, x):
    with torch.no_grad():
        return model(input_ids=x).logits


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_prunes_a_tiny_model_that_reloads(name, byte_tok, tmp_path):
    method = METHODS[name]
    model = build("mixtral" if method.needs == "moe" else "llama")
    before = sum(p.numel() for p in model.parameters())
    res = prune(model, {"method": name, "ratio": 0.3, "nsamples": 4, "seqlen": 32},
                tokenizer=byte_tok, progress=False)
    assert res.recipe.structures == list(method.structures)
    assert res.recipe.allocation == method.allocation
    assert res.recipe.compensation == method.compensation
    assert res.stats["achieved_ratio"] > 0
    if method.loop != "sublayers":  # FinerCut zeroes sublayers; their weights go on reload
        assert sum(p.numel() for p in model.parameters()) < before
    x = torch.randint(3, 500, (1, 10))
    save_pruned(model, tmp_path)
    torch.testing.assert_close(_logits(load_pruned(tmp_path), x), _logits(model, x),
                               rtol=0, atol=0)


@pytest.mark.parametrize("make", [lambda n: PruneRecipe.build(method=n),
                                  lambda n: prune(build("llama"), {"method": n}, progress=False)])
def test_unknown_method_lists_the_registered_names(make):
    with pytest.raises(ConfigError) as err:
        make("obs")
    assert "unknown pruning method 'obs'" in str(err.value)
    assert all(name in str(err.value) for name in METHODS)


def test_yaml_with_unknown_method_lists_the_registered_names():
    with pytest.raises(ConfigError) as err:
        PruneRecipe.from_yaml("method: obs\nratio: 0.2\n")
    assert all(name in str(err.value) for name in METHODS)


@pytest.mark.parametrize("name", list(METHODS))
def test_structures_outside_the_method_are_refused(name):
    m = METHODS[name]
    others = [s for s in ("heads", "channels", "blocks", "sublayers", "experts")
              if s not in m.allowed]
    for s in others:  # e.g. block with experts: refused (the engine would ignore it)
        with pytest.raises(ConfigError, match="cannot prune structures"):
            PruneRecipe.build(method=name, structures=[s])
    if not m.compensable:
        with pytest.raises(ConfigError, match="compensation"):
            PruneRecipe.build(method=name, compensation=True)


def test_needs_are_checked_before_pruning():
    with pytest.raises(ModelError, match="FinerCut"):
        prune(build("bert"), {"method": "sublayer", "ratio": 0.2}, progress=False)
    with pytest.raises(ModelError, match="mixture-of-experts"):
        prune(build("llama"), {"method": "experts", "ratio": 0.2}, progress=False)


def test_cli_help_and_docs_name_every_method():
    from typer.testing import CliRunner

    from prunestack.api.cli import app

    out = CliRunner().invoke(app, ["prune", "--help"], terminal_width=200).output
    assert " | ".join(METHODS) in " ".join(out.replace("│", " ").split())
    docs = (REPO / "docs" / "pruning.md").read_text().splitlines()
    line = next(ln for ln in docs if ln.startswith("method:"))  # the recipe YAML's method list
    assert [m.strip() for m in line.split("#")[1].split("|")] == list(METHODS)
