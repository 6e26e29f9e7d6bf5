# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test db bench migration clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(BIN)/activate
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/activate
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

## Create or upgrade the database and load the contracts in config/contracts/.
db: $(VENV)/.installed-run
	$(FLASK) init-db
	$(FLASK) load-contracts config/contracts

## Serve the desk on http://127.0.0.1:5000 with its SLA clock (demo data unless DESK_DEMO=0).
run: db
	DESK_DEMO=$${DESK_DEMO:-1} $(FLASK) demo
	DESK_DEMO=$${DESK_DEMO:-1} DESK_EMBEDDED_SCHEDULER=$${DESK_EMBEDDED_SCHEDULER:-1} \
		$(FLASK) run --host $(HOST) --port $(PORT)

## Run the whole test suite (SQLite unless DATABASE_URL names PostgreSQL).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Write the next migration from what the models changed: make migration MSG="what changed"
## (then read it: autogenerate misses renames and CHECK constraints).
MIGRATION_DB := sqlite:///$(CURDIR)/instance/migration.sqlite3
NEXT_REV = $(shell printf '%04d' $$(( $$(ls desk/migrations/versions/[0-9]*.py | wc -l) + 1 )))
migration: $(VENV)/.installed-run
	@test -n "$(MSG)" || { echo 'usage: make migration MSG="what changed"' >&2; exit 2; }
	rm -f instance/migration.sqlite3*
	DATABASE_URL=$(MIGRATION_DB) $(FLASK) init-db
	DATABASE_URL=$(MIGRATION_DB) $(FLASK) db revision --autogenerate --rev-id $(NEXT_REV) -m "$(MSG)"
	rm -f instance/migration.sqlite3*

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance/*.sqlite3*
