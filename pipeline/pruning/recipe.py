"""``PruneRecipe``: what a pruning run does, as data (pydantic v2, YAML round-trip).

A run is criterion x structure x allocation x compensation. The recipe validates combinations
(ratio in [0, 1), a method of :data:`.methods.METHODS`, structures that method may remove) and
fills the method's defaults; it raises ``ConfigError`` with a hint otherwise. It does not know
about models; family checks happen in ``families.discover``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from prunestack.errors import ConfigError
from prunestack.pipeline.pruning.methods import METHODS, Allocation, Structure, get_method


class PruneRecipe(BaseModel):
    """One pruning run. ``ratio`` is the share of the counted quantity to remove."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("flap", json_schema_extra={"enum": list(METHODS)})
    ratio: float = Field(0.2, description="share to remove, 0 <= ratio < 1")
    count: Literal["params", "flops"] = "params"
    structures: list[Structure] | None = None
    allocation: Allocation | None = None
    compensation: bool | None = None
    taylor_order: Literal[1, 2] = 1
    taylor_batch: int | None = Field(None, ge=1, description="samples per Taylor backward; None "
                                     "= as many as an activation budget allows")
    taylor_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="dtype of Taylor's products: auto = bf16 on CUDA or a CPU with AMX "
        "bf16, else fp32")
    round_to: int = Field(8, ge=1, description="MLP widths become multiples of this (1 = off)")
    calib: str | None = Field(None, description="text or JSONL file; None = the built-in "
                              "calibration corpus (prunestack/corpora/calibration-en)")
    nsamples: int = Field(0, ge=0, description="calibration windows; 0 = the method's default "
                          "(128, taylor 32)")
    seqlen: int = Field(128, ge=8)
    flops_seqlen: int = Field(512, ge=1, description="context length used to count attention FLOPs")
    keep_first: int = Field(0, ge=0, description="leave the first N blocks untouched")
    keep_last: int = Field(0, ge=0, description="leave the last N blocks untouched")
    seed: int = 0

    @field_validator("method")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in METHODS:
            raise ValueError(f"unknown pruning method {name!r}: one of {', '.join(METHODS)}")
        return name

    @model_validator(mode="after")
    def _fill(self) -> PruneRecipe:
        if not 0.0 <= self.ratio < 1.0:
            raise ValueError(f"ratio must be in [0, 1), got {self.ratio}")
        m = METHODS[self.method]
        if not self.nsamples:
            self.nsamples = m.calib_samples
        if self.structures is None:
            self.structures = list(m.structures)
        if self.allocation is None:
            self.allocation = m.allocation
        if self.compensation is None:
            self.compensation = m.compensation
        bad = [s for s in self.structures if s not in m.allowed]
        if bad:
            raise ValueError(f"method {self.method!r} cannot prune structures {bad}")
        if self.compensation and not m.compensable:
            raise ValueError("bias compensation applies to head/channel pruning only")
        return self

    @classmethod
    def build(cls, **kw: object) -> PruneRecipe:
        """Validate keyword options; raise ConfigError (not pydantic's error) on bad input."""
        if "method" in kw:
            get_method(str(kw["method"]))  # ConfigError naming every registered method
        try:
            return cls(**kw)  # type: ignore[arg-type]
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "recipe"
            raise ConfigError(f"bad recipe: {loc}: {first['msg']}",
                              "see docs/pruning.md for the recipe fields") from None

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> PruneRecipe:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"recipe is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("recipe YAML must be a mapping of fields")
        return cls.build(**data)

    @classmethod
    def load(cls, path: str | Path) -> PruneRecipe:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"recipe file not found: {p}")
        return cls.from_yaml(p.read_text())
