"""Per-record metrics of the Structured Output Benchmark (SOB), as JigsawStack/sob ``evaluate.py``.

What it does: takes one model response (the raw string a model returned, or an already-parsed
value), the record's JSON Schema and its ground truth, and returns SOB's row of metrics:
``json_parse_success``, ``json_root_structured``, ``schema_valid_input``, ``schema_compliance``
(JSON Pass Rate), ``leaf_value_em`` (Value Accuracy / Truth Score), ``value_token_f1``
(Faithfulness), ``hier_path_recall`` (Path Recall), ``path_set_f1`` (Structure Coverage),
``type_precision`` (Type Safety), ``required_key_recall`` and ``strict_json_em`` (Perfect Response).

Definitions follow the published code line by line:

* a response string is turned into a candidate as SOB's providers do (``utils.extract_json``):
  ``json.loads`` of the whole text, else of the first ``{...}`` span (greedy, across lines), else
  the text itself. Only a dict or list counts as parsed (``parse_candidate``), so a JSON string,
  number or ``null`` is a parse failure, as is text that is not JSON;
* leaves are flattened to paths ``a.b[0].c``; empty objects/arrays contribute no leaf;
* hardening = parsed ∧ object/array root ∧ valid against the schema (Draft 7);
* coverage gate on the *raw* Structure Coverage: text → 1 if ≥ 0.95 else 0; image/audio →
  min(1, (coverage/0.90)²) (0 when coverage is 0);
* Value Accuracy and Faithfulness are multiplied by hardening and the gate; Path Recall, Structure
  Coverage and Type Safety by hardening only; Perfect Response compares canonical JSON
  (sorted keys, compact, non-ASCII kept) and is not gated.

Where the published code would raise (a non-dict ``items``, a path key containing ``[``, a schema
whose ``$ref`` cannot be resolved, a regex the validator cannot compile, a response nested too
deeply to parse) this module scores a failure for that part instead: it never raises on a
response. It does not read files or aggregate over records (see :mod:`eval.aggregate`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Literal

from jsonschema import Draft7Validator

from prunestack.pipeline.schema import no_io_registry

Modality = Literal["text", "image", "audio"]

DIFFICULTY_WEIGHTS: dict[str, float] = {"easy": 1.0, "medium": 2.0, "hard": 3.0}
#: SOB weights by ``schema_complexity`` first, then by the resolved question difficulty.
WEIGHT_FIELD_PRIORITY = ("schema_complexity", "difficulty")

_JSON_OBJECT_RE = re.compile(r"\{.*\}", re.DOTALL)
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")
_PUNCT_RE = re.compile(r"[^\w\s]")
_INDEX_RE = re.compile(r"\[\d+\]")
_SCALAR_TYPES = {"string", "integer", "number", "boolean", "object", "array", "null"}


# ---------------------------------------------------------------------------------------------
# Parsing a response


def extract_json(text: str) -> Any:
    """SOB's ``extract_json``: the parsed value, or ``text`` unchanged when nothing parses."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    match = _JSON_OBJECT_RE.search(text)
    if match:
        try:
            return json.loads(match.group())
        except (ValueError, RecursionError):
            pass
    return text


def parse_response(raw: Any, already_extracted: bool = False) -> tuple[bool, Any]:
    """(parsed_ok, candidate): a string goes through :func:`extract_json` (unless
    ``already_extracted``: SOB's own response files store the provider's extraction result, where
    a string means extraction failed); only a dict or a list counts as parsed (SOB's
    ``parse_candidate``). Anything else gives ``(False, None)``."""
    value = extract_json(raw) if isinstance(raw, str) and not already_extracted else raw
    if isinstance(value, dict | list):
        return True, value
    return False, None


# ---------------------------------------------------------------------------------------------
# Schema helpers


def is_valid_schema(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    try:
        Draft7Validator.check_schema(schema)
    except Exception:
        return False
    return True


def validates(candidate: Any, schema: dict[str, Any]) -> bool:
    """Draft 7 validation; any validator error (bad ``$ref``, bad regex) counts as invalid. A
    reference to another document is one: the registry refuses to fetch or read it."""
    try:
        Draft7Validator(schema, registry=no_io_registry(schema, "7")).validate(candidate)
    except Exception:
        return False
    return True


def normalize_schema_type(schema_type: Any) -> str | None:
    """``["string", "null"]`` → ``"string"``; unknown or ambiguous unions → None."""
    if isinstance(schema_type, list):
        non_null = [t for t in schema_type if t != "null"]
        if len(non_null) == 1:
            schema_type = non_null[0]
    if isinstance(schema_type, str) and schema_type in _SCALAR_TYPES:
        return schema_type
    return None


def split_path(path: str) -> list[str | int] | None:
    """``"a.b[2].c"`` → ``["a", "b", 2, "c"]``; None when an index is malformed."""
    parts: list[str | int] = []
    token = ""
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == ".":
            if token:
                parts.append(token)
                token = ""
            i += 1
            continue
        if ch == "[":
            if token:
                parts.append(token)
                token = ""
            end = path.find("]", i)
            if end < 0:
                return None
            try:
                parts.append(int(path[i + 1 : end]))
            except ValueError:
                return None
            i = end + 1
            continue
        token += ch
        i += 1
    if token:
        parts.append(token)
    return parts


def schema_type_for_path(schema: Any, path: str) -> str | None:
    """The schema's (normalised) type at a leaf path, walking ``properties`` and ``items``."""
    if not isinstance(schema, dict):
        return None
    parts = split_path(path)
    if parts is None:
        return None
    current: Any = schema
    for part in parts:
        if not isinstance(current, dict):
            return None
        if isinstance(part, str):
            if current.get("type") != "object":
                return None
            props = current.get("properties", {})
            current = props.get(part) if isinstance(props, dict) else None
        else:
            if current.get("type") != "array":
                return None
            current = current.get("items")
        if current is None:
            return None
    return normalize_schema_type(current.get("type")) if isinstance(current, dict) else None


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def is_type_match(value: Any, expected_type: str) -> bool:
    actual = json_type_name(value)
    return actual == expected_type or (expected_type == "number" and actual == "integer")


def required_paths(schema: Any, prefix: str = "") -> list[str]:
    """Paths of required keys, with ``[]`` for array items (``items[].sku``)."""
    if not isinstance(schema, dict):
        return []
    out: list[str] = []
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        props = props if isinstance(props, dict) else {}
        required = schema.get("required", [])
        for key in required if isinstance(required, list) else []:
            child = f"{prefix}.{key}" if prefix else str(key)
            out.append(child)
            out.extend(required_paths(props.get(key, {}), child))
    elif kind == "array":
        out.extend(required_paths(schema.get("items", {}), f"{prefix}[]" if prefix else "[]"))
    return out


# ---------------------------------------------------------------------------------------------
# Leaves and value comparison


def flatten_leaf_paths(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf path → value. Empty containers give no leaf; a bare scalar root gives none either."""
    leaves: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, child in value.items():
            leaves.update(flatten_leaf_paths(child, f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    if isinstance(value, list):
        for idx, child in enumerate(value):
            leaves.update(flatten_leaf_paths(child, f"{prefix}[{idx}]"))
        return leaves
    if prefix:
        leaves[prefix] = value
    return leaves


def flatten_present_paths(value: Any, prefix: str = "") -> set[str]:
    """Every path present (inner nodes too), used by required-key recall."""
    paths = {prefix} if prefix else set()
    if isinstance(value, dict):
        for key, child in value.items():
            paths |= flatten_present_paths(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for idx, child in enumerate(value):
            paths |= flatten_present_paths(child, f"{prefix}[{idx}]")
    return paths


def normalize_tokens(value: Any) -> list[str]:
    """Lower-case, punctuation → space, articles removed; null → "null", booleans → "true"."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    text = _PUNCT_RE.sub(" ", text.lower())
    text = _ARTICLES_RE.sub(" ", text)
    return text.split()


def token_f1(gt_value: Any, pred_value: Any) -> float:
    gt, pred = normalize_tokens(gt_value), normalize_tokens(pred_value)
    if not gt and not pred:
        return 1.0
    if not gt or not pred:
        return 0.0
    overlap = sum((Counter(gt) & Counter(pred)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(gt)
    return 2 * precision * recall / (precision + recall)


def ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def f1_from_counts(overlap: int, pred_total: int, gt_total: int) -> float:
    if pred_total == 0 or gt_total == 0:
        return 0.0
    p, r = overlap / pred_total, overlap / gt_total
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def exact_match_ratio(gt: dict[str, Any], pred: dict[str, Any]) -> float:
    """Share of ground-truth leaves equal (Python ``==``) to the prediction at the same path.
    As in SOB, ``==`` treats ``1 == 1.0`` and ``True == 1`` as equal; ``"1" != 1``."""
    if not gt:
        return 1.0
    return sum(1 for p, v in gt.items() if p in pred and v == pred[p]) / len(gt)


def mean_token_f1(gt: dict[str, Any], pred: dict[str, Any]) -> float:
    if not gt:
        return 1.0
    return sum(token_f1(v, pred.get(p)) for p, v in gt.items()) / len(gt)


def compute_type_precision(candidate: Any, schema: Any) -> float:
    leaves = flatten_leaf_paths(candidate)
    if not leaves:
        return 0.0
    hits = 0
    for path, value in leaves.items():
        expected = schema_type_for_path(schema, path)
        if expected is not None and is_type_match(value, expected):
            hits += 1
    return ratio(hits, len(leaves))


def compute_required_key_recall(candidate: Any, schema: Any) -> tuple[float, list[str]]:
    req = sorted(set(required_paths(schema)))
    if not req:
        return 1.0, []
    present = {_INDEX_RE.sub("[]", p) for p in flatten_present_paths(candidate)}
    missing = [p for p in req if p not in present]
    return ratio(len(req) - len(missing), len(req)), missing


def compute_coverage_gate(modality: str, structure_coverage: float) -> float:
    if modality == "text":
        return 1.0 if structure_coverage >= 0.95 else 0.0
    return min(1.0, (structure_coverage / 0.90) ** 2) if structure_coverage > 0 else 0.0


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# One record


def resolve_difficulty(
    question_difficulty: str | None, schema_complexity: str | None
) -> tuple[str, str, float]:
    """(difficulty, weighting_basis, weight) as SOB resolves them: ``schema_complexity`` if it is
    easy/medium/hard, else the question difficulty; weight 0 when neither is known."""
    metadata = {
        "schema_complexity": schema_complexity,
        "difficulty": question_difficulty or schema_complexity,
    }
    for field in WEIGHT_FIELD_PRIORITY:
        cand = metadata.get(field)
        if cand in DIFFICULTY_WEIGHTS:
            return str(cand), field, DIFFICULTY_WEIGHTS[str(cand)]
    return "unknown", "unknown", 0.0


def score_response(
    response: Any, schema: Any, ground_truth: Any, modality: Modality = "text",
    already_extracted: bool = False,
) -> dict[str, Any]:
    """SOB's metric row for one response (a raw string or a parsed value). Never raises on a
    malformed response: it scores 0 where SOB would; a response nested so deeply that walking it
    overflows the stack counts as unparsed. Extra keys: ``missing_gt_paths`` (sorted) and
    ``missing_required_paths``."""
    if modality not in ("text", "image", "audio"):
        raise ValueError(f"unknown modality {modality!r}")
    try:
        return _score(response, schema, ground_truth, modality, already_extracted)
    except RecursionError:
        return _score(None, schema, ground_truth, modality, already_extracted)


def _score(response: Any, schema: Any, ground_truth: Any, modality: str,
           already_extracted: bool) -> dict[str, Any]:
    schema_ok = is_valid_schema(schema)
    parsed_ok, candidate = parse_response(response, already_extracted)
    root_ok = parsed_ok and isinstance(candidate, dict | list)
    compliant = bool(root_ok and schema_ok and validates(candidate, schema))

    gt_leaves = flatten_leaf_paths(ground_truth)
    pred_leaves = flatten_leaf_paths(candidate) if root_ok else {}
    overlap = len(set(gt_leaves) & set(pred_leaves))

    raw_recall = ratio(overlap, len(gt_leaves))
    raw_f1 = f1_from_counts(overlap, len(pred_leaves), len(gt_leaves))
    raw_em = exact_match_ratio(gt_leaves, pred_leaves)
    raw_tok = mean_token_f1(gt_leaves, pred_leaves)
    raw_types = compute_type_precision(candidate, schema) if root_ok and schema_ok else 0.0
    if root_ok and schema_ok:
        req_recall, missing_req = compute_required_key_recall(candidate, schema)
    else:
        req_recall, missing_req = 0.0, required_paths(schema)

    hardening = 1.0 if compliant else 0.0
    gate = compute_coverage_gate(modality, raw_f1)
    return {
        "json_parse_success": 1.0 if parsed_ok else 0.0,
        "json_root_structured": 1.0 if root_ok else 0.0,
        "schema_valid_input": 1.0 if schema_ok else 0.0,
        "schema_compliance": hardening,
        "leaf_value_em": raw_em * hardening * gate,
        "value_token_f1": raw_tok * hardening * gate,
        "hier_path_recall": raw_recall * hardening,
        "path_set_f1": raw_f1 * hardening,
        "type_precision": raw_types * hardening,
        "required_key_recall": req_recall,
        "strict_json_em": 1.0 if canonical_json(candidate) == canonical_json(ground_truth) else 0.0,
        "missing_gt_paths": sorted(set(gt_leaves) - set(pred_leaves)),
        "missing_required_paths": missing_req,
    }
