"""FLAP and Wanda-sp scores equal a straightforward implementation of the papers' equations.

The reference side is written here from the equations (REFERENCES.md, FLAP ``lib/prune.py``): the
inputs of every o_proj / down_proj are captured with hooks in one full forward pass of the dense
model (no layer-by-layer loop, no streaming statistics), then

- FLAP: S_j = var(x_j) * sum_i W_ij^2; attention S_j is squared; each layer's vector is
  standardised ((S - mean) / std, unbiased); a head's score is the mean of its channels; MLP
  channels are the standardised S_j (not squared);
- Wanda-sp: s_j = mean_i |W_ij| * sqrt(mean_t x_tj^2); a head's score is the sum of its channels;

and a key/value group's score is the sum of its query heads' scores. Compared with the engine's
``width_scores`` on the real all-MiniLM-L6-v2 and on a tiny Llama with 2 key/value heads.
"""

from __future__ import annotations

import pytest
import torch

from prunestack.pipeline.pruning import allocation as A
from prunestack.pipeline.pruning import prune
from prunestack.pipeline.pruning.engine import calibration_ids, width_scores
from prunestack.pipeline.pruning.recipe import PruneRecipe
from tests.pruning.test_landing import tiny_llama


def _inputs(model, ids, names):
    """{module name: its input [tokens, C] in float64} from one full forward pass."""
    mods = dict(model.named_modules())
    got: dict[str, torch.Tensor] = {}
    hooks = [mods[n].register_forward_pre_hook(
        lambda _m, a, n=n: got.__setitem__(n, a[0].detach().reshape(-1, a[0].shape[-1]).double()))
        for n in names]
    with torch.no_grad():
        if model.config.model_type == "bert":
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
        else:
            model(input_ids=ids, use_cache=False)
    for h in hooks:
        h.remove()
    return got, mods


def _z(s):
    return (s - s.mean()) / s.std()


def _reference(model, ids, attn_name, mlp_name, n_layers, n_heads, head_dim):
    names = [attn_name.format(i) for i in range(n_layers)]
    names += [mlp_name.format(i) for i in range(n_layers)]
    x, mods = _inputs(model, ids, names)
    out = []
    for i in range(n_layers):
        a, m = attn_name.format(i), mlp_name.format(i)
        wa, wm = mods[a].weight.double(), mods[m].weight.double()
        fa = x[a].var(0) * (wa**2).sum(0)  # [n_heads * head_dim]
        fm = x[m].var(0) * (wm**2).sum(0)  # [width]
        flap = (_z(fa**2).reshape(n_heads, head_dim).mean(1), _z(fm))
        wanda_a = (wa.abs() * x[a].pow(2).mean(0).sqrt()).mean(0)
        wanda_m = (wm.abs() * x[m].pow(2).mean(0).sqrt()).mean(0)
        wanda = (wanda_a.reshape(n_heads, head_dim).sum(1), wanda_m)
        out.append({"flap": flap, "wanda-sp": wanda})
    return out


def _check(model, ids, ref, n_kv):
    for method in ("flap", "wanda-sp"):
        units = width_scores(model, {"method": method, "ratio": 0.3}, ids=ids)
        for u, r in zip(units, ref, strict=True):
            heads, channels = r[method]
            torch.testing.assert_close(u.heads, heads, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(u.channels, channels, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(A.group_scores(u.heads, n_kv),
                                       heads.reshape(n_kv, -1).sum(1), rtol=1e-5, atol=1e-5)


def test_flap_and_wanda_scores_match_the_equations_on_real_minilm():
    from prunestack.models import load_pretrained, load_tokenizer, minilm_path

    model = load_pretrained(minilm_path(), "float32", causal=False).eval()
    tok = load_tokenizer(minilm_path())
    ids = calibration_ids(tok, PruneRecipe.build(method="flap", nsamples=8, seqlen=64))
    cfg = model.config
    ref = _reference(model, ids, "encoder.layer.{}.attention.output.dense",
                     "encoder.layer.{}.output.dense", cfg.num_hidden_layers,
                     cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads)
    _check(model, ids, ref, cfg.num_attention_heads)


def test_flap_and_wanda_scores_match_the_equations_on_a_gqa_llama():
    model = tiny_llama(2)
    ids = torch.randint(3, 500, (6, 32), generator=torch.Generator().manual_seed(0))
    ref = _reference(model, ids, "model.layers.{}.self_attn.o_proj",
                     "model.layers.{}.mlp.down_proj", 4, 8, 32)
    _check(model, ids, ref, 2)


def _kept_heads(model, dense) -> list[list[int]]:
    """Query heads kept in each layer, found by matching o_proj columns to the dense model's."""
    out = []
    for layer, dlayer in zip(model.model.layers, dense.model.layers, strict=True):
        cols = layer.self_attn.o_proj.weight.reshape(-1, layer.self_attn.o_proj.weight.shape[1])
        w, dw = cols.reshape(cols.shape[0], -1, 32), dlayer.self_attn.o_proj.weight
        dw = dw.reshape(dw.shape[0], -1, 32)
        out.append([h for h in range(8) if any(torch.equal(dw[:, h], w[:, k])
                                               for k in range(w.shape[1]))])
    return out


@pytest.mark.parametrize("method", ["flap", "wanda-sp"])
def test_calibration_data_changes_the_two_kv_head_choice(method, tmp_path):
    """With 2 key/value groups the choice follows the data (FLAP once standardised the 2 group
    scores to +-0.707, whatever the data)."""
    from tests.pruning.conftest import ByteTokenizer

    prose = tmp_path / "prose.txt"
    prose.write_text("\n\n".join(
        f"Paragraph {i}: the committee met on a quiet morning and agreed, after some debate, "
        "that the river path should stay open to walkers through the winter." for i in range(40)))
    digits = tmp_path / "digits.txt"
    digits.write_text("\n\n".join(" ".join(str(i * j % 97) for j in range(60)) for i in range(40)))
    dense = tiny_llama(2)
    kept = []
    for calib in (prose, digits):
        model = tiny_llama(2)
        prune(model, {"method": method, "ratio": 0.3, "structures": ["heads"], "calib": str(calib),
                      "nsamples": 8, "seqlen": 64}, tokenizer=ByteTokenizer(), progress=False)
        kept.append(_kept_heads(model, dense))
    assert all(len(k) in (4, 6, 8) for k in kept[0] + kept[1])  # even inside the 2 groups
    assert kept[0] != kept[1]
