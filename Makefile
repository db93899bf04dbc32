# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The suite uses the PostgreSQL and Redis on 127.0.0.1 with its own database and Redis db numbers.
test: $(STAMP)
	env -u http_proxy -u HTTP_PROXY $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
