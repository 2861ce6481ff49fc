# Wardwatch — developer and CI entry points.  `make demo` and `make test` work from a fresh clone.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test check lint format types bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Wardwatch needs Python 3.11 or newer")'
	@$(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): on Debian run 'apt-get install python3-venv' and retry" >&2; exit 2; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# compile bytecode now: PYTHONDONTWRITEBYTECODE would otherwise make every CLI start slow
	@$(BIN)/python -m compileall -q $(VENV)/lib src >/dev/null || true
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wardwatch demo --serve

# The browser tests drive Debian's chromium (not Playwright's download); install it when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the browser tests need chromium at $(CHROMIUM); install it" >&2; exit 2; }
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 -q

check: lint types

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

types: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_import.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
