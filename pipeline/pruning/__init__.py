"""Structured pruning of Hugging Face models: criterion x structure x allocation x compensation.

Entry points: ``prune(model_or_dir, recipe) -> PruneResult``, ``PruneRecipe``, the method table
``METHODS``, and ``save_pruned(model, out, tok)`` / ``load_pruned(folder, dtype=...)``, which are
the one saved-model format (``prunestack.saved.save_model`` / ``load_saved``) under pruning's
names. Importing this package does not import torch; the engine loads on first use. See
docs/pruning.md.
"""

from __future__ import annotations

from typing import Any

from prunestack.pipeline.pruning.methods import METHODS, get_method
from prunestack.pipeline.pruning.recipe import PruneRecipe

__all__ = ["METHODS", "PruneRecipe", "PruneResult", "get_method", "load_pruned", "prune",
           "save_pruned"]


def prune(model_or_dir: Any, recipe: Any, tokenizer: Any = None, progress: bool = True,
          ids: Any = None) -> Any:
    """Prune a model or model folder; returns a ``PruneResult`` (model, tokenizer, stats).
    ``ids`` [N, L]: calibration token rows instead of the recipe's text."""
    from prunestack.pipeline.pruning.engine import prune as _prune  # torch: on first use

    return _prune(model_or_dir, recipe, tokenizer=tokenizer, progress=progress, ids=ids)


def __getattr__(name: str) -> Any:
    # torch and transformers load on first use, so `--help` and recipe checks stay fast
    if name == "PruneResult":
        from prunestack.pipeline.pruning.engine import PruneResult

        return PruneResult
    if name == "save_pruned":
        from prunestack.saved import save_model

        return save_model
    if name == "load_pruned":
        from prunestack.saved import load_saved

        return load_saved
    raise AttributeError(name)
