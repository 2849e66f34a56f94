"""The types extraction hands around: the options a user sets, the result it returns, and the
leaves its engines find.

What it does: :class:`ExtractOptions` (user-set knobs, ``extra="forbid"``), :class:`Provenance`
(page, box, element and source text of one value), :class:`MissingValue`, :class:`PageInfo`,
:class:`ExtractionResult` (data + provenance + missing values + validity + timings), and
:class:`Leaf` (a value an engine found, with where it came from; the orchestrator turns leaves into
provenance). The engines (:mod:`.extractive`, :mod:`.generative`) and the orchestrator
(:mod:`.core`) all import them from here, so no engine imports the orchestrator.

What it does not do: any work; these are data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prunestack.pipeline.document import BBox

Engine = Literal["extractive", "generative"]
Scorer = Literal["auto", "learned", "rules"]


class ExtractOptions(BaseModel):
    """User-set knobs for one extraction."""

    model_config = ConfigDict(extra="forbid")

    engine: Engine = "extractive"
    min_score: float = Field(default=0.42, ge=0.0, le=1.0,
                             description="extractive: below this a field is not found")
    fill_required: bool = Field(default=True, description="fill missing required non-nullable "
                                "values with an empty value of their type (and report them)")
    scorer: Scorer = Field(default="auto", description="extractive: how scalar fields are "
                           "picked — learned (the MiniLM field scorer: the shipped pruned one, or "
                           "scorer_model), rules (label similarity and hand-set weights), or auto "
                           "(learned for receipts and when scorer_model is given, else rules: "
                           "the better of the two on each kind, as measured)")
    scorer_model: str | None = Field(default=None, description="extractive, scorer=learned: "
                                     "a scorer folder made by `prunestack train extractor` "
                                     "(default: the shipped scorer)")
    max_new_tokens: int = Field(default=384, ge=16, le=8192)
    prompt_chars: int = Field(default=3000, ge=200, le=200_000)


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int
    bbox: BBox
    element_id: str
    confidence: float = Field(ge=0.0, le=1.0)
    text: str = Field(description="the source text the value was read from")


class MissingValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    reason: str
    action: str


class PageInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int
    width: float
    height: float


class ExtractionResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Any
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    missing: list[MissingValue] = Field(default_factory=list)
    valid: bool
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    engine: str
    pages: list[PageInfo] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")


@dataclass
class Leaf:
    """A found value with where it came from."""

    value: Any
    page: int
    bbox: BBox
    element_id: str
    confidence: float
    text: str
