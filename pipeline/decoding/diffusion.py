"""Schema-skeleton infill with a masked (diffusion) language model: JSON out, many tokens per call.

``generate_json_diffusion(model, tokenizer, prompt, schema)`` builds the *skeleton* of the JSON
text from the schema — braces, keys, colons, commas and ``const`` values, which are fixed — and a
masked *slot* for every other value. The model sees ``prompt`` followed by the skeleton with all
slots masked and fills every slot in parallel:

- Each slot has its own ``Matcher``: ``LeafMatcher`` (``diffusion_text``) for leaf values
  (string, integer, number, boolean, null, enum, const), ``pipeline.decoding.compile_schema`` for
  anything else (arrays, nested free-form objects, patterns, combinators).
- A grammar matcher reads left to right, so a slot only commits at its *frontier*: each step it
  walks from the first uncommitted cell, commits the constrained argmax while its confidence is
  >= ``threshold`` and advances the matcher after each commit (the next cell's mask is computed in
  the new state), and stops at the first cell below the threshold. Cells after that stop stay
  masked, so every committed prefix is valid — parallel within a slot *and* across slots, with no
  rollback needed. Tokens the grammar forces are committed without confidence.
- Then the step tops up to ``commit_count`` (round(sum of the done-probabilities of the slots'
  stop cells), at least one token per step) with the best-scoring stop cells (remasking strategy).
- A slot ends when its end token (eos/pad/sep, see ``diffusion_core.end_token``) is committed —
  allowed only when the matcher accepts — and the rest of the slot is filled with it.
- Flexible length: DAEDAL-style, slots first grow by ``expand_by`` while the end-token probability
  at their last cell is < ``eos_threshold``; during decoding a slot whose stop cell has confidence
  < ``low_confidence`` grows (one insertion per step), and a slot that runs out of cells grows. At
  ``slot_max_len`` a slot enters *finish mode*: it takes the likeliest allowed token that completes
  the value. If even ``max_new_tokens`` value tokens do not complete the JSON, it raises.

The final text is the skeleton text with each slot's value text spliced in; it is parsed and
validated with ``jsonschema`` before it is returned. ``parallel=False`` gives the autoregressive
baseline over the same model: one model call per token, left to right, same constraints.

Not here: free-form generation (``diffusion_free``), chat templates, batching several prompts,
object properties that are optional in the schema (the skeleton always writes every property).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import torch

from prunestack.errors import PrunestackError, SchemaError, TooLargeError
from prunestack.pipeline.decoding.backends import compile_schema
from prunestack.pipeline.decoding.diffusion_core import (
    DiffusionConfig,
    MaskPredictor,
    commit_count,
    done_probability,
    end_token,
    make_config,
    make_predictor,
    support_entropy,
    token_scores,
)
from prunestack.pipeline.decoding.diffusion_free import FreeResult, diffuse
from prunestack.pipeline.decoding.diffusion_text import (
    LeafMatcher,
    TokenTexts,
    is_leaf_schema,
    token_texts,
)
from prunestack.pipeline.schema import load_schema, validation_errors

__all__ = ["DiffusionConfig", "DiffusionDecodingError", "DiffusionResult", "FreeResult",
           "SlotSpec", "build_skeleton", "diffuse", "generate_json_diffusion",
           "initial_slot_length", "make_predictor"]

_INIT_LEN = {"boolean": 1, "null": 1, "integer": 2, "number": 3, "string": 4}
_OBJECT_ONLY = {"type", "properties", "required", "additionalProperties", "title", "description",
                "$defs", "definitions", "$schema", "$id"}


class DiffusionDecodingError(PrunestackError):
    """The decoder could not complete a valid value within its token budget."""

    http_status = 500


@dataclass(frozen=True)
class SlotSpec:
    """A masked value in the skeleton: its JSON path and the subschema that constrains it."""

    path: str
    schema: dict


@dataclass
class DiffusionResult:
    """What ``generate_json_diffusion`` returns."""

    text: str
    value: Any
    model_calls: int
    tokens: int  # value tokens committed (end fillers excluded)
    steps: int
    commits_per_step: list[int] = field(default_factory=list)
    expansions: int = 0
    insertions: int = 0
    slots: dict[str, str] = field(default_factory=dict)
    slot_tokens: dict[str, list[int]] = field(default_factory=dict)


def _resolve(schema: Any, root: dict) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise SchemaError(f"only local $ref are supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"$ref {ref!r} does not resolve")
            node = node[part]
        schema = node
    return schema


def build_skeleton(schema: dict) -> list[str | SlotSpec]:
    """Literal JSON text and value slots, in output order (adjacent literals merged).

    Objects with ``properties`` (and nothing that makes their keys conditional) become literal
    braces and keys; ``const`` and one-value ``enum`` become literal text; every other value is a
    slot."""
    if not isinstance(schema, dict):
        raise SchemaError("the schema must be a JSON object")
    out: list[str | SlotSpec] = []

    def walk(node: Any, path: str) -> None:
        node = _resolve(node, schema)
        if not isinstance(node, dict):
            raise SchemaError(f"schema at {path} is not an object")
        if "const" in node:
            out.append(json.dumps(node["const"]))
        elif isinstance(node.get("enum"), list) and len(node["enum"]) == 1:
            out.append(json.dumps(node["enum"][0]))
        elif (node.get("type") == "object" and isinstance(node.get("properties"), dict)
              and node["properties"] and set(node) <= _OBJECT_ONLY):
            out.append("{")
            for i, (key, sub) in enumerate(node["properties"].items()):
                out.append((", " if i else "") + json.dumps(key) + ": ")
                walk(sub, f"{path}.{key}")
            out.append("}")
        else:
            out.append(SlotSpec(path, node))

    walk(schema, "$")
    merged: list[str | SlotSpec] = []
    for seg in out:
        if isinstance(seg, str) and merged and isinstance(merged[-1], str):
            merged[-1] += seg
        else:
            merged.append(seg)
    return merged


class _Slot:
    """One value slot: its cells on the canvas, its matcher and the committed value tokens."""

    def __init__(self, spec: SlotSpec, matcher: Any, init_len: int, tokenizer: Any,
                 mask_id: int) -> None:
        self.spec, self.matcher, self.mask_id = spec, matcher, mask_id
        self.cells = [mask_id] * init_len
        self.ids: list[int] = []  # committed value tokens
        self.done = False
        self._tok = tokenizer

    @property
    def frontier(self) -> int:
        return len(self.ids)

    def text(self) -> str:
        if isinstance(self.matcher, LeafMatcher):
            return self.matcher.text
        return str(self._tok.decode(self.ids, skip_special_tokens=True)).strip()

    def commit(self, tok: int, end_id: int) -> None:
        j = self.frontier
        if tok == end_id:
            self.cells[j:] = [end_id] * (len(self.cells) - j)
            self.done = True
            return
        self.matcher.advance(tok)
        self.ids.append(tok)
        self.cells[j] = tok


def _slot_matcher(spec: SlotSpec, root: dict, tokenizer: Any, texts: TokenTexts,
                  backend: str) -> Any:
    if backend in ("auto", "leaf") and is_leaf_schema(spec.schema):
        return LeafMatcher(spec.schema, texts)
    if backend == "leaf":
        raise SchemaError(f"slot {spec.path} is not a leaf value", "use slot_backend='auto'")
    sub = dict(spec.schema)
    for k in ("$defs", "definitions"):
        if k in root and k not in sub:
            sub[k] = root[k]
    return compile_schema(sub, tokenizer, closed=True)  # generation: no invented keys


def initial_slot_length(spec: SlotSpec, tokenizer: Any, cfg: DiffusionConfig) -> int:
    """Cells a slot starts with: ``slot_init_len``, else by type (enum: its longest value)."""
    if cfg.slot_init_len is not None:
        return min(cfg.slot_init_len, cfg.slot_max_len)
    s = spec.schema
    if "enum" in s:
        n = max(len(tokenizer(json.dumps(v), add_special_tokens=False)["input_ids"])
                for v in s["enum"])
        return min(n, cfg.slot_max_len)
    return min(_INIT_LEN.get(str(s.get("type")), 8), cfg.slot_max_len)


def _constrained(logits: torch.Tensor, slot: _Slot, end_id: int) -> tuple[torch.Tensor, ...]:
    """Masked, renormalised distribution at one slot cell: (probs [V], allowed [V])."""
    allowed = slot.matcher.mask().clone()  # [V]
    v = logits.shape[-1]
    if allowed.shape[0] != v:  # tokenizer and model vocab sizes differ: pad or cut
        allowed = torch.cat([allowed, allowed.new_zeros(max(0, v - allowed.shape[0]))])[:v]
    eos = getattr(slot._tok, "eos_token_id", None)
    if eos is not None and eos != end_id and eos < v:  # grammar EOS is not a value token here
        allowed[eos] = False
    if slot.matcher.is_accepting():
        allowed[end_id] = True
    if not bool(allowed.any()):
        raise DiffusionDecodingError(f"slot {slot.spec.path}: the constraint allows no token "
                                     f"after {slot.text()!r}")
    probs = logits.masked_fill(~allowed, float("-inf")).softmax(-1)  # [V]
    return probs, allowed


def _finish_token(probs: torch.Tensor, slot: _Slot, end_id: int, closing: list[int]) -> int:
    """Finish mode: the likeliest allowed token that makes the value complete; else the likeliest
    allowed closing token (only ``"]}``); else the likeliest allowed token."""
    if slot.matcher.is_accepting():
        return end_id
    top = probs.topk(min(64, int((probs > 0).sum()))).indices.tolist()
    close = [t for t in closing if float(probs[t]) > 0]
    close.sort(key=lambda t: -float(probs[t]))
    for t in sorted(set(top) | set(close), key=lambda t: -float(probs[t])):
        slot.matcher.advance(t)
        ok = slot.matcher.is_accepting()
        slot.matcher.rollback(1)
        if ok:
            return int(t)
    return int(close[0] if close else top[0])


def generate_json_diffusion(model: Any, tokenizer: Any, prompt: str, schema: dict, *,
                            max_new_tokens: int = 256, **options: Any) -> DiffusionResult:
    """Fill the schema's skeleton after ``prompt`` with a masked LM; see the module docstring.

    ``model``: an HF masked LM (or LLaDA/Dream model, or a ``MaskPredictor``); ``options``: fields
    of ``DiffusionConfig`` plus ``predictor_kind`` ('auto', 'bert', 'llada', 'dream') and
    ``slot_backend`` ('auto', 'leaf', 'compile_schema')."""
    kind = options.pop("predictor_kind", "auto")
    backend = options.pop("slot_backend", "auto")
    if backend not in ("auto", "leaf", "compile_schema"):
        raise SchemaError(f"unknown slot_backend {backend!r}", "auto, leaf or compile_schema")
    cfg = make_config(options)
    schema = load_schema(schema)  # the one loader: meta-schema of its draft, refs, satisfiable
    if not isinstance(prompt, str):
        raise SchemaError("prompt must be a string")
    pred = make_predictor(model, tokenizer, kind)
    end_id = end_token(tokenizer, cfg.end_token_id)
    texts = token_texts(tokenizer)
    skeleton = build_skeleton(schema)
    segs: list[list[int] | _Slot] = []
    for seg in skeleton:
        if isinstance(seg, str):
            segs.append(list(tokenizer(seg, add_special_tokens=False)["input_ids"]))
        else:
            m = _slot_matcher(seg, schema, tokenizer, texts, backend)
            segs.append(_Slot(seg, m, initial_slot_length(seg, tokenizer, cfg), tokenizer,
                              pred.mask_id))
    slots = [s for s in segs if isinstance(s, _Slot)]
    prefix = list(tokenizer(prompt)["input_ids"])
    suffix = [tokenizer.sep_token_id] if (getattr(tokenizer, "cls_token_id", None) is not None
                                          and tokenizer.sep_token_id is not None) else []
    calls0 = pred.calls
    res = DiffusionResult(text="", value=None, model_calls=0, tokens=0, steps=0)

    fixed = len(prefix) + len(suffix) + sum(len(s) for s in segs if not isinstance(s, _Slot))
    max_pos = getattr(getattr(pred.model, "config", None), "max_position_embeddings", None)
    max_pos = int(max_pos) if isinstance(max_pos, int) and not isinstance(max_pos, bool) else None

    def budget() -> int:  # slot cells we may still add: token budget and model positions
        used = sum(len(s.cells) for s in slots)
        room = max_new_tokens - used
        return room if max_pos is None else min(room, max_pos - fixed - used)

    def grow(slot: _Slot, n: int) -> bool:
        n = min(n, budget())
        if n <= 0:
            return False
        slot.cells += [pred.mask_id] * n
        return True

    def forward() -> tuple[torch.Tensor, dict[int, int]]:
        ids, start = list(prefix), {}
        for seg in segs:
            if isinstance(seg, _Slot):
                start[id(seg)] = len(ids)
                ids += seg.cells
            else:
                ids += seg
        ids += suffix
        return pred(torch.tensor([ids]))[0], start  # [L, V]

    if max_pos is not None and fixed + sum(len(s.cells) for s in slots) > max_pos:
        raise TooLargeError(f"prompt + skeleton need {fixed + sum(len(s.cells) for s in slots)} "
                            f"positions; the model has {max_pos}", "shorten the prompt")
    if budget() < 0:
        raise DiffusionDecodingError(f"the skeleton needs {sum(len(s.cells) for s in slots)} slot "
                                     f"cells, more than max_new_tokens={max_new_tokens}")
    logits: torch.Tensor | None = None
    start: dict[int, int] = {}
    for _ in range(cfg.max_expand_rounds + 1 if cfg.parallel else 0):  # DAEDAL initial length
        logits, start = forward()
        grew = False
        for s in slots:
            p_end = float(logits[start[id(s)] + len(s.cells) - 1].softmax(-1)[end_id])
            if p_end < cfg.eos_threshold and len(s.cells) < cfg.slot_max_len:
                grew |= grow(s, min(cfg.expand_by, cfg.slot_max_len - len(s.cells)))
        if not grew:
            break
        res.expansions += 1
        logits = None

    while any(not s.done for s in slots):
        if res.steps >= cfg.max_steps:
            raise DiffusionDecodingError(f"no complete value after {cfg.max_steps} steps")
        if logits is None:
            logits, start = forward()
        committed = 0
        stops: list[tuple[_Slot, int, float, float, float]] = []  # slot, tok, conf, score, r
        active = [s for s in slots if not s.done]
        if not cfg.parallel:
            active = active[:1]
        for s in active:
            n0 = len(s.ids) + (1 if s.done else 0)
            while not s.done and s.frontier < len(s.cells):
                forced = [] if s.matcher.is_accepting() else s.matcher.forced_tokens()
                if forced:
                    s.commit(int(forced[0]), end_id)
                    continue
                probs, allowed = _constrained(logits[start[id(s)] + s.frontier], s, end_id)
                if len(s.cells) > cfg.slot_max_len:  # finish mode
                    s.commit(_finish_token(probs, s, end_id, texts.closing_ids), end_id)
                    break
                tok, conf, score = token_scores(probs[None], cfg.remasking)
                if cfg.parallel and float(conf[0]) >= cfg.threshold:
                    s.commit(int(tok[0]), end_id)
                    continue
                h = support_entropy(probs[None], allowed[None])
                r = float(done_probability(h, cfg.done_entropy, cfg.done_sharpness)[0])
                stops.append((s, int(tok[0]), float(conf[0]), float(score[0]), r))
                break
            committed += len(s.ids) + (1 if s.done else 0) - n0
        if stops:
            k = commit_count(torch.tensor([x[4] for x in stops])) if (
                cfg.parallel and cfg.posterior_commits) else 1
            need = 1 if not cfg.parallel else max(k - committed, 0 if committed else 1)
            for s, best, _, _, _ in sorted(stops, key=lambda x: -x[3])[:need]:
                s.commit(best, end_id)
                committed += 1
            low = [x for x in stops if x[2] < cfg.low_confidence and x[0].frontier < len(x[0].cells)
                   and not x[0].done and len(x[0].cells) < cfg.slot_max_len]
            if cfg.parallel and low:
                slot = min(low, key=lambda x: x[2])[0]
                if grow(slot, min(cfg.expand_by, cfg.slot_max_len - len(slot.cells))):
                    res.insertions += 1
        for s in slots:  # out of cells: grow, up to the cap, then one cell at a time
            if not s.done and s.frontier >= len(s.cells):
                room = cfg.slot_max_len - len(s.cells)
                if not grow(s, min(cfg.expand_by, room) if room > 0 else 1):
                    raise DiffusionDecodingError(
                        f"slot {s.spec.path} is incomplete ({s.text()!r}) after "
                        f"max_new_tokens={max_new_tokens} cells or the model's positions",
                        "raise max_new_tokens")
                res.expansions += 1
        res.commits_per_step.append(committed)
        res.steps += 1
        logits = None

    res.text = "".join(seg.text() if isinstance(seg, _Slot) else str(lit)
                       for seg, lit in zip(segs, skeleton, strict=True))
    res.model_calls = pred.calls - calls0
    res.tokens = sum(len(s.ids) for s in slots)
    res.slots = {s.spec.path: s.text() for s in slots}
    res.slot_tokens = {s.spec.path: list(s.ids) for s in slots}
    try:
        res.value = json.loads(res.text)
    except json.JSONDecodeError as exc:
        raise DiffusionDecodingError(f"decoded text is not JSON: {exc}"[:300],
                                     f"text: {res.text[:200]}") from exc
    errors = validation_errors(res.value, schema)  # the one validator: draft, formats, decimals
    if errors:
        raise DiffusionDecodingError(f"decoded text does not validate: {errors[0]}"[:300],
                                     f"text: {res.text[:200]}")
    return res


def make_mask_predictor(model: Any, tokenizer: Any, kind: str = "auto") -> MaskPredictor:
    """Alias of ``make_predictor`` for callers that only import this module."""
    return make_predictor(model, tokenizer, kind)
