# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-stress lint format check worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The project itself goes in editable (no dependencies of its own: they are
# pinned in requirements.txt), so `.venv/bin/ony` works from any folder.
$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

# Fresh random keys for the local demo, written once and kept (private: mode 600).
.env:
	umask 077 && $(PYTHON) -m ony.devenv > .env.tmp && mv .env.tmp .env

## run: a working server with the demo organization on 127.0.0.1:$(PORT) (SQLite, in-process tasks)
PORT ?= 8000
run: $(VENV)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "To enroll an agent's machine as a device of the demo org (the token works once, for 15 minutes):"
	$(BIN)/python manage.py enrollment_token --org demo
	ONY_PUBLIC_URL=http://127.0.0.1:$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## test: the whole suite (PostgreSQL and Redis when DATABASE_URL and REDIS_URL point at them)
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## test-stress: two web nodes, a worker and 200 agents under faults (Redis, worker, PostgreSQL, a node), then the checks
test-stress: $(VENV)/.installed-dev
	$(BIN)/python -m tests.stress $(STRESS_ARGS)

## lint: ruff check, ruff format --check and mypy
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## format: apply ruff's fixes and formatting
format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## check: Django's system checks, the deployment ones and those that need the database
check: $(VENV)/.installed
	$(BIN)/python manage.py check --deploy --database default

## worker: a Celery worker with beat, for a server that has REDIS_URL set
worker: $(VENV)/.installed
	$(BIN)/celery -A ony worker --beat --loglevel INFO

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
