"""SOB-format records and response files: reading, validating and joining them.

A record (one JSON object per line) has SOB's fields: ``record_id``, ``context``, ``question``,
``json_schema`` and ``ground_truth`` (both JSON strings, as in the published dataset; parsed values
are accepted too), and optionally ``question_difficulty`` / ``schema_complexity`` (easy, medium,
hard). Other fields are kept as metadata. A response line is ``{"record_id", "response"}`` with
``response`` the string a model returned. This module does I/O and validation only; scoring lives
in :mod:`eval.sob` and :mod:`eval.aggregate`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from prunestack.errors import InputError


class SobRecord(BaseModel):
    """One benchmark record. Unknown fields are kept (SOB passes them through as metadata)."""

    model_config = ConfigDict(extra="allow")

    record_id: str
    context: str
    question: str = ""
    json_schema: Any
    ground_truth: Any
    question_difficulty: str | None = None
    schema_complexity: str | None = None

    @field_validator("record_id", mode="before")
    @classmethod
    def _id_as_str(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) else v

    @field_validator("json_schema", "ground_truth", mode="before")
    @classmethod
    def _parse_json_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError as exc:
                raise ValueError(f"not valid JSON: {exc}") from exc
        return v

    def to_line(self) -> dict[str, Any]:
        """The record as written to JSONL: schema and ground truth as JSON strings, like SOB."""
        out = self.model_dump(exclude_none=True)
        out["json_schema"] = json.dumps(self.json_schema, ensure_ascii=False)
        out["ground_truth"] = json.dumps(self.ground_truth, ensure_ascii=False)
        return out


def _read_jsonl(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    rows: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{lineno}: not a JSON line ({exc.args[0]})") from exc
            if not isinstance(obj, dict):
                raise InputError(f"{path}:{lineno}: a {what} line must be a JSON object")
            rows.append((lineno, obj))
    return rows


def load_records(path: str | Path) -> list[SobRecord]:
    """All records of a JSONL file; duplicate ids and malformed lines are errors."""
    p = Path(path)
    out: list[SobRecord] = []
    seen: set[str] = set()
    for lineno, obj in _read_jsonl(p, "records"):
        try:
            rec = SobRecord.model_validate(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise InputError(f"{p}:{lineno}: bad record ({loc}: {first['msg']})",
                             "SOB fields: record_id, context, question, json_schema, "
                             "ground_truth") from exc
        if rec.record_id in seen:
            raise InputError(f"{p}:{lineno}: duplicate record_id {rec.record_id!r}")
        seen.add(rec.record_id)
        out.append(rec)
    if not out:
        raise InputError(f"no records in {p}")
    return out


def load_responses(path: str | Path) -> dict[str, Any]:
    """record_id → response (a string as the model returned it; a later line wins)."""
    p = Path(path)
    out: dict[str, Any] = {}
    for lineno, obj in _read_jsonl(p, "responses"):
        if "record_id" not in obj or "response" not in obj:
            raise InputError(f"{p}:{lineno}: a response line needs record_id and response")
        out[str(obj["record_id"])] = obj["response"]
    return out


def write_records(path: str | Path, records: list[SobRecord]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec.to_line(), ensure_ascii=False) + "\n")


def resolve_context_path(record: SobRecord, records_file: str | Path) -> Path | None:
    """The document a record points at (context relative to the records file, or absolute), or
    None when the context is plain text rather than an existing file."""
    ctx = record.context.strip()
    if not ctx or "\n" in ctx or len(ctx) > 1024:
        return None
    cand = Path(ctx)
    if not cand.is_absolute():
        cand = Path(records_file).parent / cand
    return cand if cand.is_file() else None


def is_sob_native(path: str | Path) -> bool:
    """Whether a JSONL file is in SOB's own response layout (``metadata``/``input``/``output``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"responses file not found: {p}")
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    return False
                return isinstance(obj, dict) and {"metadata", "output"} <= obj.keys()
    return False


def load_sob_native(path: str | Path) -> tuple[list[SobRecord], dict[str, Any], list[str], int]:
    """Records, responses (the stored ``candidate_response``), model ids and the number of
    malformed lines of a response file in SOB's own layout. As SOB's ``evaluate.py``, malformed
    lines are counted and skipped; ``metadata.difficulty`` is the question difficulty."""
    p = Path(path)
    records: list[SobRecord] = []
    responses: dict[str, Any] = {}
    models: set[str] = set()
    malformed = 0
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                meta, inp, out = obj.get("metadata", {}), obj.get("input", {}), obj["output"]
                rec = SobRecord(
                    record_id=str(meta.get("record_id", f"line-{len(records)}")),
                    context=str(inp.get("context", "")), question=str(inp.get("question", "")),
                    json_schema=inp.get("json_schema"), ground_truth=out.get("ground_truth"),
                    question_difficulty=meta.get("difficulty"),
                    schema_complexity=meta.get("schema_complexity"))
            except (ValueError, KeyError, AttributeError, ValidationError):
                malformed += 1
                continue
            records.append(rec)
            responses[rec.record_id] = out.get("candidate_response")
            models.add(str(meta.get("model_id", "unknown")))
    if not records:
        raise InputError(f"no records in {p}")
    return records, responses, sorted(models), malformed
