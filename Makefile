# The two commands that matter: `make report` and `make test` (see README.md).
# Everything bootstraps itself: a .venv made with the machine's python3 (3.11+), the project
# installed with the exact versions of requirements.lock, and a Jupyter kernel registered
# inside that venv so papermill never runs a notebook in another interpreter.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
KERNEL := analysis-venv
PYTEST_WORKERS ?= 2

.PHONY: help install system-deps report test test-fast lab bench demo add-wave clean unit-sheets

help:
	@echo "make report     generate the reports (demo data if no wave has been imported)"
	@echo "make test       run the whole test suite"
	@echo "make test-fast  skip tests marked slow"
	@echo "make lab        open JupyterLab on notebooks/ with the project's kernel"
	@echo "make bench      time the statistics core and the report"
	@echo "make demo       (re)write the synthetic demo waves to data/demo/"
	@echo "make add-wave INSTRUMENT=member WAVE=2026 FILES='export.xlsx'   import a survey export"
	@echo "make unit-sheets [WAVE=2025]   every unit's feedback sheet (DOCX, PDF) and index.xlsx"

# Re-made only when the dependencies change: a second `make report` installs nothing.
$(INSTALLED): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is needed, found " + sys.version.split()[0] + "; run e.g. make PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (analysis .venv)" >/dev/null
	@touch $@

install: $(INSTALLED)

# Chromium, LibreOffice (DOCX → PDF), poppler and fonts: installed as root when missing, else a warning.
system-deps:
	@bash scripts/system_deps.sh

report: $(INSTALLED) system-deps
	$(BIN)/python -m analysis report $(ARGS)

test: $(INSTALLED) system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(ARGS)

test-fast: $(INSTALLED)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow" $(ARGS)

lab: $(INSTALLED)
	$(BIN)/jupyter lab --notebook-dir=notebooks --MultiKernelManager.default_kernel_name=$(KERNEL) $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(INSTALLED)
	$(BIN)/python scripts/bench.py $(ARGS)

demo: $(INSTALLED)
	$(BIN)/python -m analysis demo $(ARGS)

add-wave: $(INSTALLED)
	@test -n "$(INSTRUMENT)" -a -n "$(WAVE)" -a -n "$(FILES)" || { echo "usage: make add-wave INSTRUMENT=member WAVE=2026 FILES='a.xlsx b.xlsx'"; exit 2; }
	$(BIN)/python -m analysis add-wave --instrument $(INSTRUMENT) --wave $(WAVE) $(FILES) $(ARGS)

# Every unit's feedback sheet; not part of `make report` (reports/unit-sheets/<wave>/<lang>/).
unit-sheets: $(INSTALLED) system-deps
	@test -n "$$(ls data/processed/member/*.parquet 2>/dev/null)" || $(BIN)/python -m analysis demo
	$(BIN)/python -m analysis unit-sheets $(if $(WAVE),--wave $(WAVE)) $(ARGS)

clean:
	rm -rf reports/*/ reports/.tmp-* reports/.failed reports/.old-* reports/.lock-* data/processed/*/ .pytest_cache
