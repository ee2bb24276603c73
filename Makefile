# Two commands do all the set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

DEMO_ENV := DJANGO_DEBUG=1 SCRM_DEMO_TRAFFIC_PER_MINUTE=$(or $(SCRM_DEMO_TRAFFIC_PER_MINUTE),4)

.PHONY: demo test lint install install-dev serve migrate seed e2e screenshots bench soak-ci messages clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput

seed: migrate
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo

demo: seed
	@echo ""
	@echo "  SCRM inbox: http://127.0.0.1:$(PORT)/"
	@echo "  Logins (password demo-pass-2026): supervisor, agent1, agent2, agent3, admin"
	@echo "  API docs: http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	$(DEMO_ENV) $(BIN)/python manage.py serve --port $(PORT)

serve: install
	$(DEMO_ENV) $(BIN)/python manage.py serve --port $(PORT)

# A Chromium for the browser tests, installed when none is found (.ci/ensure-browser). Without
# one the rest of the suite still runs and the browser tests fail, naming what to install.
browser: install-dev
	@PYTHON=$(BIN)/python .ci/ensure-browser || echo "make: no browser; the browser tests will fail (see above)" >&2

# The suite runs in TEST_WORKERS processes (pytest-xdist), each with its own test database and
# Redis database (tests/_env.py); TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2

test: install-dev browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=15 $(PYTEST_ARGS)

# The screenshots of docs/screenshots, taken again by the browser tests that show those pages.
screenshots: install-dev browser
	SCRM_SCREENSHOTS=1 $(BIN)/python -m pytest -m e2e tests/e2e/test_team_and_screenshots.py tests/e2e/test_manage_browser.py $(PYTEST_ARGS)

e2e: install-dev browser
	$(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/mypy scrm inbox templates_app monitoring
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

messages: install-dev
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*'
	DJANGO_DEBUG=1 $(BIN)/python manage.py compilemessages --ignore '.venv/*'

bench: install-dev
	$(BIN)/python -m bench

# The soak's 2-minute form (bench/soak: 20 buyer messages/s, 200 shops, 50 agents on sockets,
# the worker killed twice), which .ci/run runs after the suite; it fails on a message or reply
# lost or doubled. Needs PostgreSQL and Redis on 127.0.0.1 (Redis db 15, BENCH_REDIS_URL).
soak-ci: install-dev
	$(BIN)/python -m bench.soak --minutes 2 --rate 20 --drain 60

clean:
	rm -rf $(VENV) var
