"""Rebuild a saved model whose shapes differ from its stock config, from ``config["prunestack"]``.

Self-contained on purpose (imports only torch and transformers): ``prunestack.saved.save_model``
copies this file beside the weights as ``modeling_prunestack.py`` and appends two lines naming the
stock base class, so stock transformers loads the folder with ``trust_remote_code=True``.
``prunestack.saved.load_saved`` uses the same code without remote code.

The entry lists, relative to a model built from the (stock) config: parameters whose shape differs
or that are new (e.g. a bias created by compensation), integer attributes of modules that differ
(head counts), per-module config overrides (Phi-3 reads head counts from its config in forward),
sublayers replaced by a zero output (FinerCut) and LM heads trimmed to a subset of the vocabulary
(draft models for speculative decoding). Nothing else is changed. The modules that stand in for
removed or trimmed parts (:class:`ZeroAttention`, :class:`ZeroMLP`, :class:`TrimmedLMHead`) live
here, so a folder and the code that rebuilds it can never disagree; how they are chosen (pruning,
vocabulary trimming) lives in ``pipeline``.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class ZeroAttention(nn.Module):
    """A removed attention sublayer: contributes nothing, so the residual passes unchanged."""

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any):
        return torch.zeros_like(hidden_states), None


class ZeroMLP(nn.Module):
    """A removed MLP sublayer."""

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.zeros_like(hidden_states)


ZERO = {"attention": ZeroAttention, "mlp": ZeroMLP}


class TrimmedLMHead(nn.Module):
    """LM head with only the kept rows; returns full-vocabulary logits (−inf elsewhere).

    ``kept`` (sorted vocabulary ids [k]) is a saved buffer, so a trimmed folder reloads alone."""

    def __init__(self, full_weight: torch.Tensor, kept: torch.Tensor,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.vocab_size = full_weight.shape[0]
        self.weight = nn.Parameter(full_weight[kept].detach().clone(), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias[kept].detach().clone(),
                                                           requires_grad=False)
        self.kept: torch.Tensor
        self.register_buffer("kept", kept.clone())  # [k]

    @classmethod
    def empty(cls, head: nn.Linear, rows: int) -> TrimmedLMHead:
        """A placeholder of ``rows`` rows for ``head``'s vocabulary (weights load afterwards)."""
        kept = torch.zeros(rows, dtype=torch.long, device=head.weight.device)
        return cls(head.weight, kept, head.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        small = nn.functional.linear(hidden, self.weight, self.bias)  # [B, S, k]
        full = small.new_full((*small.shape[:-1], self.vocab_size), float("-inf"))  # [B, S, V]
        return full.index_copy_(-1, self.kept, small)


def _set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, new)


def apply_overrides(model: nn.Module, spec: dict[str, Any]) -> None:
    """Reshape ``model`` (built from the stock config) to the shapes recorded in ``spec``."""
    for path, kind in (spec.get("zeroed") or {}).items():
        _set_submodule(model, path, ZERO[kind]())
    for path, rows in (spec.get("trimmed") or {}).items():
        head = model.get_submodule(path)
        if not isinstance(head, nn.Linear):
            raise TypeError(f"{path} is a {type(head).__name__}, not the linear head to trim")
        _set_submodule(model, path, TrimmedLMHead.empty(head, int(rows)))
    for name, shape in (spec.get("params") or {}).items():
        mod_path, _, pname = name.rpartition(".")
        mod = model.get_submodule(mod_path)
        old = getattr(mod, pname, None)
        ref = old if isinstance(old, torch.Tensor) else next(model.parameters())
        setattr(mod, pname, nn.Parameter(torch.zeros(shape, dtype=ref.dtype, device=ref.device)))
        if isinstance(mod, nn.Linear) and pname == "weight":
            mod.out_features, mod.in_features = int(shape[0]), int(shape[1])
    for path, attrs in (spec.get("attrs") or {}).items():
        mod = model.get_submodule(path)
        for key, value in attrs.items():
            setattr(mod, key, value)
    for path, overrides in (spec.get("module_config") or {}).items():
        mod = model.get_submodule(path)
        cfg = copy.deepcopy(mod.config)
        for key, value in overrides.items():
            setattr(cfg, key, value)
        mod.config = cfg


def pruned_class(base: type) -> type:
    """A subclass of a stock model class that applies ``config.prunestack`` after building."""

    class PrunedModel(base):  # type: ignore[misc, valid-type]
        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            spec = getattr(config, "prunestack", None) or {}
            apply_overrides(self, spec)

    PrunedModel.__name__ = f"Pruned{base.__name__}"
    PrunedModel.__qualname__ = PrunedModel.__name__
    return PrunedModel
