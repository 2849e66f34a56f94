"""Recipes: YAML round-trip and clear errors for bad input."""

from __future__ import annotations

import pytest

from prunestack.errors import ConfigError, ModelError
from prunestack.pipeline.pruning import PruneRecipe, prune


def test_yaml_round_trip(tmp_path):
    r = PruneRecipe.build(method="taylor", ratio=0.3, taylor_order=2, count="flops", nsamples=4)
    p = tmp_path / "r.yaml"
    p.write_text(r.to_yaml())
    assert PruneRecipe.load(p) == r
    assert r.structures == ["heads", "channels"] and r.allocation == "uniform"
    assert PruneRecipe.build(method="flap").compensation is True


def test_calibration_windows_default_per_method():
    """Near the references' counts: 128 windows (Wanda's 128 x 128), Taylor 32 (backward passes;
    LLM-Pruner uses 10); an explicit count wins."""
    assert PruneRecipe.build(method="flap").nsamples == 128
    assert PruneRecipe.build(method="wanda-sp").nsamples == 128
    assert PruneRecipe.build(method="taylor").nsamples == 32
    assert PruneRecipe.build(method="flap", nsamples=8).nsamples == 8


@pytest.mark.parametrize("kw", [{"ratio": 1.0}, {"ratio": 1.5}, {"ratio": -0.1},
                                {"method": "obs"}, {"method": "block", "structures": ["heads"]},
                                {"allocation": "random"}, {"nsamples": -1}, {"round_to": 0},
                                {"bogus": 1}])
def test_bad_recipe_is_config_error(kw):
    with pytest.raises(ConfigError) as err:
        PruneRecipe.build(**kw)
    assert err.value.message


def test_bad_yaml(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("method: [flap\n")
    with pytest.raises(ConfigError):
        PruneRecipe.load(p)
    with pytest.raises(ConfigError):
        PruneRecipe.load(tmp_path / "missing.yaml")


def test_unsupported_family_is_model_error():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64))
    with pytest.raises(ModelError, match="not supported"):
        prune(model, {"method": "magnitude", "ratio": 0.2}, progress=False)


def test_experts_on_dense_model_is_model_error():
    from tests.pruning.conftest import build

    with pytest.raises(ModelError, match="mixture-of-experts"):
        prune(build("llama"), {"method": "experts", "ratio": 0.2}, progress=False)
