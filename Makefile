# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean admin-password demo browser-deps docs

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is needed: run 'make PYTHON=python3.12 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Web on 127.0.0.1:8000, both workers, beat and the gateway simulator, on SQLite (db.sqlite3)
# unless DATABASE_URL says otherwise; Redis at CELERY_BROKER_URL, started locally if none answers.
# Settings come from the environment or .env (see .env.example). Steps in scripts/run.sh.
run: $(STAMP)
	VENV=$(VENV) FLOWER=$(FLOWER) scripts/run.sh

# A new admin password for `make run`'s database (DEMO_ADMIN_PASSWORD, or generated), printed.
admin-password: $(STAMP)
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} \
		$(BIN)/python manage.py bootstrap_demo --reset-admin-password --run-dir .run

# While `make run` is up: a seeded mix of orders at RATE per second (every kind at least once), a full
# refund (a void) and a partial refund that waits for the settlement, then summary tables.
RATE ?= 5
N ?= 40
SEED ?= 7
demo: $(STAMP)
	env -u http_proxy -u HTTP_PROXY $(BIN)/python scripts/demo.py --rate $(RATE) --orders $(N) --seed $(SEED)

# The import contracts (.importlinter), then the suite, which uses the PostgreSQL and Redis on
# 127.0.0.1 with its own database and Redis db numbers.
test: $(STAMP)
	$(BIN)/lint-imports
	env -u http_proxy -u HTTP_PROXY $(BIN)/python -m pytest

# The docs site (mkdocs.yml, docs/) on http://127.0.0.1:8001, rebuilt on every change.
docs: $(STAMP)
	$(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles .run

# The dashboard's browser test (tests/ops/test_integration_views.py): Debian's chromium, driven by
# Playwright for Python from requirements-dev.txt. Never `playwright install`: it downloads a browser
# build of its own. Needs root (CI runs as root); the test skips, naming this target, without chromium.
browser-deps: $(STAMP)
	command -v chromium >/dev/null || { apt-get update && apt-get install -y --no-install-recommends chromium; }
	$(BIN)/python -c 'import playwright.sync_api'
