#!/usr/bin/env bash
# mypy over the installed layout. mypy cannot follow setuptools' editable finder (setup.py maps
# parsers/ to prunestack.parsers and so on), so it reads a tree of links laid out as installed:
# .mypy_tree/prunestack/{*.py, api, eval, parsers, pipeline, retrieval}. Checked: the decoding
# package, the API and the ground (and whatever they import, with types across areas).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=$root/.mypy_tree
rm -rf "$tree"
mkdir -p "$tree/prunestack"
for f in prunestack/*.py; do ln -s "$root/$f" "$tree/prunestack/$(basename "$f")"; done
for d in api eval parsers pipeline retrieval; do ln -s "$root/$d" "$tree/prunestack/$d"; done
mods=()
for f in prunestack/*.py; do
  m=$(basename "$f" .py)
  [ "$m" = "__init__" ] && mods+=(-m prunestack) || mods+=(-m "prunestack.$m")
done
cd "$tree"
exec "$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" \
  -p prunestack.pipeline.decoding -p prunestack.api "${mods[@]}"
