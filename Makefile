# Everything a fresh machine needs comes from here: `make demo`, `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: setup browser demo test lint typecheck unit screenshots bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests: installed under CI=true (they must run there);
# locally they run when /usr/bin/chromium exists and skip otherwise.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$${CI:-}" = "true" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

demo: setup
	$(VENV)/bin/recon demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy

unit: setup browser
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck unit

screenshots: setup
	RECON_SCREENSHOTS=readme $(VENV)/bin/pytest -q tests/browser

bench: setup
	$(PY) -m recon.collectors.bench --orders 1000000
	$(PY) -m recon.sync.bench --orders 10000 --faults
	$(PY) -m recon.reconcile.bench --orders 1000000 --dir var/bench/snap1m
	$(PY) -m recon.app.bench
	$(PY) -m recon.warehouse.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
