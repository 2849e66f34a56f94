"""The pruning methods, in one table: the one place to add a method.

Each :class:`Method` says how its units are scored (``criterion``), which engine loop removes them
(``loop``: widths = attention heads and MLP channels, blocks, sublayers, experts), which structures
it removes by default and which it may remove, its default allocation and bias compensation, and
what it needs (calibration text; a causal LM or mixture-of-experts blocks). Recipe validation
(:mod:`.recipe`), the engine (:mod:`.engine`), the CLI's ``--method`` help and the docs read it.

A method that reuses an existing criterion and loop is one entry here. A new criterion also needs
its score function in :mod:`.criteria` (and, for a per-column activation score, one line in
``engine.COLUMN_SCORES``: the column score and its reductions to query heads and channels).
Pure data, importable without torch (the CLI builds its help from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prunestack.errors import ConfigError

Structure = Literal["heads", "channels", "blocks", "sublayers", "experts"]
Allocation = Literal["uniform", "global", "layer-importance"]
Loop = Literal["widths", "blocks", "sublayers", "experts"]
Criterion = Literal["fluctuation", "wanda", "taylor", "magnitude", "block-influence",
                    "js-divergence", "router-clustering"]
WIDTHS: tuple[Structure, ...] = ("heads", "channels")


@dataclass(frozen=True)
class Method:
    name: str
    source: str  # the paper or code the method follows
    criterion: Criterion
    loop: Loop
    structures: tuple[Structure, ...]  # default structures
    allocation: Allocation  # default allocation
    compensation: bool  # default bias compensation
    calibration: bool  # needs calibration text (activations, gradients or outputs)
    needs: Literal["any", "causal", "moe"] = "any"  # the model it applies to
    #: default calibration windows (recipe ``nsamples``): the reference's count where the CPU
    #: allows it (Wanda 128 x 128 tokens; FLAP uses 1,024; LLM-Pruner's Taylor 10 x 64, which
    #: needs backward passes: 32 here)
    calib_samples: int = 128

    @property
    def allowed(self) -> tuple[Structure, ...]:
        """Structures a recipe may name: heads and/or channels for width methods, else the
        method's own structure."""
        return WIDTHS if self.loop == "widths" else self.structures

    @property
    def compensable(self) -> bool:
        """Bias compensation exists for removed heads and channels only."""
        return self.loop == "widths"

    def describe(self) -> str:
        return f"{self.name}: {self.source}, {'+'.join(self.structures)}"


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("flap", "FLAP fluctuation metric", "fluctuation", "widths", WIDTHS, "global",
           compensation=True, calibration=True),
    Method("wanda-sp", "Wanda-sp", "wanda", "widths", WIDTHS, "uniform",
           compensation=False, calibration=True),
    Method("taylor", "LLM-Pruner Taylor importance", "taylor", "widths", WIDTHS, "uniform",
           compensation=False, calibration=True, calib_samples=32),
    Method("magnitude", "weight magnitude, data-free", "magnitude", "widths", WIDTHS, "uniform",
           compensation=False, calibration=False),
    Method("block", "ShortGPT block influence", "block-influence", "blocks", ("blocks",),
           "uniform", compensation=False, calibration=True),
    Method("sublayer", "FinerCut", "js-divergence", "sublayers", ("sublayers",), "uniform",
           compensation=False, calibration=True, needs="causal"),
    Method("experts", "STUN expert clustering", "router-clustering", "experts", ("experts",),
           "uniform", compensation=False, calibration=False, needs="moe"),
)}


def get_method(name: str) -> Method:
    """The registered method called ``name``; ConfigError listing every name otherwise."""
    if name not in METHODS:
        raise ConfigError(f"unknown pruning method {name!r}", f"one of {', '.join(METHODS)}")
    return METHODS[name]
