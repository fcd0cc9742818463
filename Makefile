# Clientele: `make run` sets everything up and runs the main job; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found): set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/clientele db migrate
	$(BIN)/clientele import completejourney
	$(BIN)/clientele loyalty default-programme
	$(BIN)/clientele loyalty credit-history
	$(BIN)/clientele report summary
	$(BIN)/clientele refresh
	$(BIN)/clientele backoffice how-to-log-in

test: $(STAMP)
	$(BIN)/pytest -q

test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q

clean:
	rm -rf var $(VENV)
