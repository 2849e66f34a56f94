"""The import graph: one namespace, layers that only point down, no cycles.

Every first-party import in the installed code (module level, function-local and
``TYPE_CHECKING`` alike) is read from the source with ``ast`` and checked against the layer table
below, lowest first. A module may import from its own layer (no cycle allowed) or from a lower
one, never from a higher one. ``prunestack/__init__.py`` (the façade) is the top: it may import
anything, lazily, and nothing imports it for more than ``__version__``.

The checker is a plain function over ``{module: source}``, so the tests at the end show it
failing on an injected back-arrow and an injected cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from prunestack.graphs import strongly_connected

REPO = Path(__file__).resolve().parents[1]
OLD_TOP = ("api", "eval", "parsers", "pipeline", "retrieval")

# (module prefix, layer). The longest matching prefix wins; prunestack.<anything else> is ground.
LAYERS: list[tuple[str, int]] = [
    ("prunestack", 1),  # ground: errors, cancellation, the model registry, JSONL
    ("prunestack.pipeline", 2),  # the package itself holds nothing
    ("prunestack.pipeline.document", 2),
    ("prunestack.pipeline.schema", 2),
    ("prunestack.parsers", 3),
    ("prunestack.retrieval", 3),
    ("prunestack.pipeline.decoding", 3),
    ("prunestack.pipeline.pruning", 3),
    ("prunestack.pipeline.extract", 4),
    ("prunestack.pipeline.ask", 4),
    ("prunestack.eval", 5),
    ("prunestack.api", 5),
]
FACADE = "prunestack"
TOP = 6


def package_roots() -> dict[str, str]:
    """``setup.py``'s ROOTS (import name -> folder), read without running setup()."""
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ROOTS":
            return ast.literal_eval(node.value)
    raise AssertionError("setup.py has no ROOTS")


def installed_sources() -> dict[str, tuple[str, bool]]:
    """{module name: (source, is_package)} for every module of the installed namespace."""
    out: dict[str, tuple[str, bool]] = {}
    for name, folder in package_roots().items():
        for f in sorted((REPO / folder).rglob("*.py")):
            parts = list(f.relative_to(REPO / folder).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            out[".".join([name, *parts])] = (f.read_text(), is_pkg)
    return out


def layer_of(module: str) -> int:
    if module == FACADE:
        return TOP
    best = max((p for p, _ in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return dict(LAYERS)[best]


def imports_of(module: str, source: str, is_pkg: bool, known: set[str]) -> set[str]:
    """First-party modules that ``module`` imports anywhere in its body."""
    found: set[str] = set()
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if _dynamic_import(node) and "# stdlib only" not in lines[node.lineno - 1]:
            found.add("?" + ast.unparse(node))  # an arrow the scan could not read
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                pkg = ".".join([*base, *([node.module] if node.module else [])])
            else:
                pkg = node.module or ""
            names = [f"{pkg}.{a.name}" if f"{pkg}.{a.name}" in known else pkg for a in node.names]
        for n in names:
            if n.split(".")[0] in OLD_TOP:
                found.add("!" + n)  # a bare old top-level name: always an error
                continue
            if not n.startswith("prunestack"):
                continue
            while n not in known and "." in n:
                n = n.rsplit(".", 1)[0]
            if n != module:
                found.add(n)
    return found


def _dynamic_import(node: ast.AST) -> bool:
    """``importlib.import_module(...)`` / ``__import__(...)`` of anything but a string literal
    naming a third-party module: the layer scan cannot follow it (a line that only ever imports
    standard-library modules says so with a ``# stdlib only`` comment)."""
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
    if name not in ("import_module", "__import__"):
        return False
    arg = node.args[0] if node.args else None
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value.split(".")[0] in ("prunestack", *OLD_TOP)
    return True


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module."""
    graph = {m: sorted(edges.get(m, ())) for m in sorted(edges)}
    return [sorted(c) for c in strongly_connected(graph) if len(c) > 1]


def violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """Every broken rule, one line each (empty when the graph is clean)."""
    known = set(sources)
    edges = {m: imports_of(m, src, pkg, known) for m, (src, pkg) in sources.items()}
    bad: list[str] = []
    for m, targets in sorted(edges.items()):
        for t in sorted(targets):
            if t.startswith("!"):
                bad.append(f"{m} imports {t[1:]!r}: import it through the prunestack namespace")
            elif t.startswith("?"):
                bad.append(f"{m} imports dynamically ({t[1:]}): write the import out")
            elif t == FACADE and m != FACADE:
                bad.append(f"{m} imports the façade `prunestack`: import the module it needs")
            elif layer_of(t) > layer_of(m):
                bad.append(f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})")
    clean = {m: {t for t in ts if t[0] not in "!?" and t != FACADE}
             for m, ts in edges.items() if m != FACADE}
    bad += [f"import cycle: {' -> '.join(c)}" for c in cycles(clean)]
    return bad


def test_installed_code_keeps_the_layers():
    assert violations(installed_sources()) == []


def test_tests_and_benchmarks_use_the_namespace():
    """Tests, benchmarks, examples and scripts never import the old top-level names."""
    bad = []
    for folder in ("tests", "benchmarks", "examples", "scripts"):
        for f in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text())):
                mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                        [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                        else [])
                bad += [f"{f.relative_to(REPO)}: {m}" for m in mods if m.split(".")[0] in OLD_TOP]
    assert bad == []


def test_checker_fails_on_a_back_arrow():
    """Adding one import from a low layer to a high one (parsers -> extract) is reported."""
    sources = installed_sources()
    src, is_pkg = sources["prunestack.parsers.pdf"]
    sources["prunestack.parsers.pdf"] = (
        src + "\n\ndef _late():\n    from prunestack.pipeline.extract import core  # noqa\n",
        is_pkg)
    found = violations(sources)
    assert any("prunestack.parsers.pdf (layer 3) imports prunestack.pipeline.extract" in v
               for v in found), found


def test_checker_fails_on_a_dynamic_import():
    """A string import is an arrow the scan cannot see, so it is refused by itself."""
    sources = installed_sources()
    src, is_pkg = sources["prunestack.parsers.pdf"]
    extra = ("\n\ndef _late(name):\n    import importlib\n\n"
             "    return importlib.import_module('prunestack.pipeline.extract.core')\n")
    sources["prunestack.parsers.pdf"] = (src + extra, is_pkg)
    found = violations(sources)
    assert any("prunestack.parsers.pdf imports dynamically" in v for v in found), found


def test_checker_fails_on_a_cycle_and_a_bare_name():
    sources = installed_sources()
    src, is_pkg = sources["prunestack.errors"]
    extra = "\nimport prunestack.cancel\nimport parsers.pdf\n"
    sources["prunestack.errors"] = (src + extra, is_pkg)
    found = violations(sources)
    assert any(v.startswith("import cycle:") and "prunestack.errors" in v for v in found), found
    assert any("imports 'parsers.pdf'" in v for v in found), found


def test_old_top_level_names_do_not_import_outside_the_checkout(tmp_path):
    """Installed, only `prunestack` is a top-level name: `import parsers` fails from anywhere
    else, `import prunestack.parsers` works."""
    code = (
        "import importlib\n"
        f"for name in {OLD_TOP!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        continue\n"
        "    raise SystemExit(f'{name} imported')\n"
        "import prunestack.parsers, prunestack.pipeline, prunestack.api, prunestack.eval\n"
        "import prunestack.retrieval\n"
        "print(prunestack.parsers.__file__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"})
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(REPO / "parsers")


@pytest.mark.parametrize("module", sorted(package_roots()))
def test_each_root_imports_alone(module):
    """Each namespace package imports on its own in a fresh interpreter (no hidden order)."""
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
