# Two commands on a fresh machine: `make run` and `make test` (see README).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test fast e2e bench lint format db sample browser clean

$(STAMP): requirements.txt
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Debian's Chromium for the browser tier (Playwright cannot download browsers here).
browser:
	@if [ -x "$${CED_CHROMIUM:-/usr/bin/chromium}" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation; \
	else echo "Chromium missing: run 'sudo apt-get install chromium fonts-liberation'"; fi

db: $(STAMP)
	$(BIN)/python -c "from data_access.importer import ensure_database; print('built' if ensure_database() else 'database present')"

run: db
	$(BIN)/streamlit run serve.py --server.port $(PORT)

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider

fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e and not bench"

e2e: $(STAMP) browser
	$(BIN)/python -m pytest -q -m e2e

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sample: $(STAMP)
	$(BIN)/python -m sample_data.generate

clean:
	rm -rf $(VENV) data artifacts test-results
