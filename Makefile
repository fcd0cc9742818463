# Clientele: `make run` sets everything up and runs the main job; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

#: The suite runs on PYTEST_WORKERS processes (pytest-xdist), a test file never split between two: its
#: module and session fixtures (the Spark session, the served app) are built once, on its worker. The
#: transactional tests (they flush the database, the migrations' seeded rows included) are handed out
#: after every file, each file's as a unit of their own, the costliest files first (tests/xdist_order.py,
#: decisions 0127 and 0131).
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

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
	$(PYTEST)

test-postgres: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(PYTEST)

clean:
	rm -rf var $(VENV)
