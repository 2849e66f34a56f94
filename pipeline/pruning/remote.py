"""Rebuild a pruned model with per-layer widths from the ``prunestack`` entry of its config.

Self-contained on purpose (imports only torch and transformers): ``io.save_pruned`` copies this
file beside the weights as ``modeling_prunestack.py`` and appends two lines naming the stock base
class, so stock transformers loads the folder with ``trust_remote_code=True``. ``load_pruned``
uses the same code without remote code.

The entry lists, relative to a model built from the (stock) config: parameters whose shape differs
or that are new (e.g. a bias created by compensation), integer attributes of modules that differ
(head counts), per-module config overrides (Phi-3 reads head counts from its config in forward)
and sublayers replaced by a zero output (FinerCut). Nothing else is changed.
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


def _set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, new)


def apply_overrides(model: nn.Module, spec: dict[str, Any]) -> None:
    """Reshape ``model`` (built from the stock config) to the pruned shapes recorded in ``spec``."""
    for path, kind in (spec.get("zeroed") or {}).items():
        _set_submodule(model, path, ZERO[kind]())
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
