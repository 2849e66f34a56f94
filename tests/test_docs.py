"""Every code block in README.md and docs/*.md is checked against the real product.

* ```python blocks run, in order, one shared namespace per file, in a scratch folder that holds
  ``examples/`` (the bundled invoice, its schema and expected JSON). A block may use these names
  without defining them, as the docs say: ``model_dir`` (a saved tiny Llama folder with the real
  Mistral tokenizer), ``model`` and ``tokenizer`` (that model loaded), ``html`` (a news-like page).
* ```bash / ```console blocks: every line that calls ``prunestack`` names a real command, and every
  ``--option`` it uses is one of that command's options (read from the CLI itself). Lines under a
  ``# run`` comment are also executed, in the same scratch folder, and must exit 0.
* Blocks without a language are diagrams and listings, and ```json / ```yaml blocks data:
  a yaml block must load as a pruning recipe when it shows one (``method:`` first).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import CLI

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
HTML = ("<html><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article>"
        "<h1>Storm closes harbour</h1><p>The harbour at Bristol closed on Monday after a storm "
        "damaged the north pier. The port authority said ferries would resume on Thursday.</p>"
        "<p>Repairs are expected to cost 2.4 million pounds.</p></article>"
        "<footer>Subscribe to our newsletter</footer></body></html>")


def blocks(path: Path, langs: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(path.read_text()) if m.group(1) in langs]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, tiny_llama_dir) -> Path:
    d = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO / "examples", d / "examples")
    (d / "page.html").write_text(HTML)
    return d


@pytest.fixture(scope="module")
def given(tiny_llama_dir):
    from prunestack.models import load_causal_lm, load_tokenizer

    return {"model_dir": str(tiny_llama_dir), "model": load_causal_lm(tiny_llama_dir),
            "tokenizer": load_tokenizer(tiny_llama_dir), "html": HTML}


PY_DOCS = [p for p in DOCS if blocks(p, ("python",))]


@pytest.mark.parametrize("doc", PY_DOCS, ids=[p.name for p in PY_DOCS])
def test_python_blocks_run(doc, scratch, given, monkeypatch):
    monkeypatch.chdir(scratch)
    ns: dict = {"__name__": f"docs_{doc.stem}", **given}
    for i, code in enumerate(blocks(doc, ("python",))):
        try:
            exec(compile(code, f"{doc.name}[python block {i + 1}]", "exec"), ns)
        except Exception as exc:  # name the block in the failure
            raise AssertionError(f"{doc.name}, python block {i + 1} failed: {exc!r}\n{code}") \
                from exc


def _cli_tree():
    import typer.main

    from prunestack.api.cli import app

    return typer.main.get_command(app)


def _resolve(root, words: list[str]):
    """The click command a ``prunestack`` argument list reaches, and the words after it."""
    cmd = root
    while words and hasattr(cmd, "commands") and words[0] in cmd.commands:
        cmd = cmd.commands[words[0]]
        words = words[1:]
    return cmd, words


SHELL_DOCS = [p for p in DOCS if blocks(p, ("bash", "console", "sh"))]


def _shell_lines(code: str) -> list[tuple[str, bool]]:
    """(command line, run?) for each ``prunestack`` command, continuation lines joined."""
    out, run = [], False
    for raw in code.replace("\\\n", " ").splitlines():
        line = raw.strip().removeprefix("$ ")
        if line.startswith("#"):
            run = line == "# run"
            continue
        line = line.split(" #", 1)[0].strip()
        if line.startswith("prunestack "):
            out.append((line, run))
    return out


@pytest.mark.parametrize("doc", SHELL_DOCS, ids=[p.name for p in SHELL_DOCS])
def test_shell_blocks_match_the_cli(doc, scratch):
    root = _cli_tree()
    checked = 0
    for code in blocks(doc, ("bash", "console", "sh")):
        for line, run in _shell_lines(code):
            words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
            cmd, rest = _resolve(root, words)
            assert cmd is not root and not hasattr(cmd, "commands"), \
                f"{doc.name}: no such command: {line}"
            opts = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
            for w in rest:
                if w.startswith("--"):
                    assert w.split("=")[0] in opts, f"{doc.name}: {w} is not an option of: {line}"
            checked += 1
            if run:
                r = subprocess.run([*CLI, *shlex.split(line)[1:]], cwd=scratch, capture_output=True,
                                   text=True, timeout=600)
                assert r.returncode == 0, f"{doc.name}: {line}\n{r.stderr[-2000:]}"
    assert checked, f"{doc.name} has shell blocks but none calls prunestack"


def test_yaml_recipes_load():
    import yaml

    from prunestack.pipeline.pruning import PruneRecipe

    for doc in DOCS:
        for code in blocks(doc, ("yaml",)):
            data = yaml.safe_load(code)
            if isinstance(data, dict) and "method" in data:
                PruneRecipe.model_validate(data)
