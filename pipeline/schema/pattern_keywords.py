"""``jsonschema``'s pattern keywords, run on RE2: what :mod:`.validate` plugs into its validators.

What it does: ``jsonschema`` matches ``pattern``, ``patternProperties`` (and, through them,
``additionalProperties`` and ``unevaluatedProperties``) and checks ``format: regex`` with Python's
``re``, whose backtracking a user's pattern can make take hours. :func:`overrides` gives, for a
draft, those keywords as ``jsonschema`` 4.x writes them except that every pattern goes through
:mod:`.regex` (ECMA-262 on RE2, linear time); :func:`format_checker` is a draft's format checker
whose ``regex`` check is :func:`.regex.is_regex` and ``uri-template`` check RFC 6570's grammar.
``unevaluatedProperties`` has a 2020-12 form (``$dynamicRef``) and a 2019-09 one
(``$recursiveRef``), as in ``jsonschema``.

What it does not do: change any other keyword, message or error path, or build the validator
class (:func:`.validate.validator` does, with ``jsonschema.validators.extend``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from prunestack.pipeline.schema import regex
from prunestack.pipeline.schema.keywords import URI_TEMPLATE

# the pattern has disjoint alternatives under one star: no backtracking blow-up in ``re``
_URI_TEMPLATE = re.compile(URI_TEMPLATE.removeprefix("^").removesuffix("$"))


def _extras(extras: list[Any]) -> str:
    """``'a', 'b' were`` (``jsonschema``'s wording)."""
    return ", ".join(repr(e) for e in extras) + (" was" if len(extras) == 1 else " were")


def _matches_any(patterns: Any, name: str) -> bool:
    return any(regex.search(p, name, "patternProperties") for p in patterns)


def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not regex.search(patrn, instance, "pattern"):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def pattern_properties(validator: Any, pattern_props: dict[str, Any], instance: Any,
                       schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in pattern_props.items():
        for k, v in instance.items():
            if regex.search(patrn, k, "patternProperties"):
                yield from validator.descend(v, subschema, path=k, schema_path=patrn)


def additional_properties(validator: Any, ap: Any, instance: Any, schema: Any
                          ) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    props = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = {k for k in instance if k not in props and not _matches_any(patterns, k)}
    if validator.is_type(ap, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], ap, path=extra)
    elif not ap and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(e) for e in sorted(extras))
            pats = ", ".join(repr(p) for p in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {pats}")
        else:
            yield ValidationError("Additional properties are not allowed "
                                  f"({_extras(sorted(extras, key=str))} unexpected)")


def _valid(errors: Iterator[Any]) -> bool:
    return next(errors, None) is None


def _evaluated_keys(validator: Any, instance: dict[str, Any], schema: Any, legacy: bool
                    ) -> list[str]:
    """The keys of ``instance`` some keyword of ``schema`` evaluates (``jsonschema``'s
    ``find_evaluated_property_keys_by_schema``; ``legacy``: its 2019-09 form)."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list[str] = []
    refs: list[Any] = []
    if "$ref" in schema:
        refs.append(validator._resolver.lookup(schema["$ref"]))
    if not legacy and "$dynamicRef" in schema:
        refs.append(validator._resolver.lookup(schema["$dynamicRef"]))
    if legacy and "$recursiveRef" in schema:
        from jsonschema._legacy_keywords import lookup_recursive_ref

        refs.append(lookup_recursive_ref(validator._resolver))
    for resolved in refs:
        keys += _evaluated_keys(validator.evolve(schema=resolved.contents,
                                                 _resolver=resolved.resolver),
                                instance, resolved.contents, legacy)
    if legacy:
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            value = schema.get(keyword)
            if validator.is_type(value, "boolean") and value:
                keys += instance.keys()
            elif validator.is_type(value, "object"):
                keys += [p for p in value if p in instance]
    else:
        props = schema.get("properties")
        if validator.is_type(props, "object"):
            keys += props.keys() & instance.keys()
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            if (sub := schema.get(keyword)) is not None:
                keys += [k for k, v in instance.items() if _valid(validator.descend(v, sub))]
    if "patternProperties" in schema:
        keys += [k for k in instance if _matches_any(schema["patternProperties"], k)]
    for name, sub in (schema.get("dependentSchemas") or {}).items():
        if name in instance:
            keys += _evaluated_keys(validator, instance, sub, legacy)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(keyword, []):
            if _valid(validator.descend(instance, sub)):
                keys += _evaluated_keys(validator, instance, sub, legacy)
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys += _evaluated_keys(validator, instance, schema["if"], legacy)
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"], legacy)
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"], legacy)
    return keys


def _unevaluated_properties(legacy: bool) -> Callable[..., Iterator[Any]]:
    def unevaluated_properties(validator: Any, up: Any, instance: Any, schema: Any
                               ) -> Iterator[Any]:
        from jsonschema.exceptions import ValidationError

        if not validator.is_type(instance, "object"):
            return
        evaluated = set(_evaluated_keys(validator, instance, schema, legacy))
        bad = [k for k in instance if k not in evaluated
               and not _valid(validator.descend(instance[k], up, path=k, schema_path=k))]
        if not bad:
            return
        if up is False:
            yield ValidationError("Unevaluated properties are not allowed "
                                  f"({_extras(sorted(bad, key=str))} unexpected)")
        else:
            yield ValidationError("Unevaluated properties are not valid under the given schema "
                                  f"({_extras(bad)} unevaluated and invalid)")

    return unevaluated_properties


def overrides(draft: str) -> dict[str, Callable[..., Iterator[Any]]]:
    """The keyword functions to put into ``draft``'s validator class."""
    out: dict[str, Callable[..., Iterator[Any]]] = {
        "pattern": pattern, "patternProperties": pattern_properties,
        "additionalProperties": additional_properties}
    if draft in ("2019-09", "2020-12"):
        out["unevaluatedProperties"] = _unevaluated_properties(legacy=draft == "2019-09")
    return out


def is_uri_template(instance: Any) -> bool:
    """RFC 6570 (``keywords.URI_TEMPLATE``, the pattern the decoders enforce); non-strings pass."""
    return not isinstance(instance, str) or _URI_TEMPLATE.fullmatch(instance) is not None


def format_checker(base: Any) -> Any:
    """A copy of the ``jsonschema`` format checker ``base`` whose ``regex`` check runs on RE2
    and whose ``uri-template`` check is RFC 6570's grammar (:func:`is_uri_template`; without
    the optional ``uri-template`` package ``jsonschema`` checks nothing)."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = {**base.checkers, "regex": (regex.is_regex, ()),
                        "uri-template": (is_uri_template, ())}
    return checker
