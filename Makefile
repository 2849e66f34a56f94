# The README's commands. `make run` and `make test` install everything first (idempotent, quick
# when nothing changed).
PYTHON ?= $(shell command -v python3.11 || ls $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | head -1)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: install sysdeps run test bench lint clean

install: $(STAMP) sysdeps

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

# System packages the tests use: Tesseract 5 (an OCR backend) and Chromium + its driver (the web
# page test). Installed with apt when missing and we are root; skipped quietly otherwise.
sysdeps:
	@bash scripts/sysdeps.sh

# The main job on the bundled sample: its component-correlation tree, then the JSON extracted
# against examples/invoice_schema.json (valid against the schema, offline extractive engine).
run: install
	$(VENV)/bin/prunestack parse examples/sample_invoice.pdf --format tree
	$(VENV)/bin/prunestack extract examples/sample_invoice.pdf --schema examples/invoice_schema.json

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m benchmarks.run_all

lint: install
	$(VENV)/bin/ruff check .
	bash scripts/typecheck.sh

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_tree
