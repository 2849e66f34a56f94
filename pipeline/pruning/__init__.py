"""Structured pruning of Hugging Face models: criterion x structure x allocation x compensation.

Entry points: ``prune(model_or_dir, recipe) -> PruneResult``, ``save_pruned(model, out, tok)``,
``load_pruned(folder, dtype=...)`` and ``PruneRecipe``. See docs/pruning.md.
"""

from __future__ import annotations

from typing import Any

from prunestack.pipeline.pruning.io import load_pruned, save_pruned
from prunestack.pipeline.pruning.recipe import PruneRecipe

__all__ = ["PruneRecipe", "PruneResult", "load_pruned", "prune", "save_pruned"]


def prune(model_or_dir: Any, recipe: Any, tokenizer: Any = None, progress: bool = True) -> Any:
    """Prune a model or model folder; returns a ``PruneResult`` (model, tokenizer, stats)."""
    from prunestack.pipeline.pruning.engine import prune as _prune

    return _prune(model_or_dir, recipe, tokenizer=tokenizer, progress=progress)


def __getattr__(name: str) -> Any:
    if name == "PruneResult":
        from prunestack.pipeline.pruning.engine import PruneResult

        return PruneResult
    raise AttributeError(name)
