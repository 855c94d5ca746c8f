# rad3d — one command runs everything. `make` (or `make help`) lists the targets.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
OUT    ?= reports/latest
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install test report notebooks lint clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "rad3d needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,distributed]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) ## Create .venv (if needed) and install rad3d with test extras

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

report: $(STAMP) ## Run the main job: all reports on the bundled 2023-2025 sample -> reports/latest/
	$(BIN)/rad3d report --out $(OUT)

notebooks: $(STAMP) ## Sync each notebook with its .py twin (the newer file wins)
	$(BIN)/jupytext --sync notebooks/*.ipynb

lint: $(STAMP) ## Lint with ruff (installs it into .venv if missing)
	test -x $(BIN)/ruff || $(BIN)/python -m pip install -q 'ruff>=0.5,<1'
	$(BIN)/ruff check analysis tests benchmarks

clean: ## Remove generated reports, caches and the virtualenv
	rm -rf $(VENV) reports/latest .pytest_cache .ruff_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
