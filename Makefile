# Two commands do everything: `make run` and `make test`. Both set up what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BOT_VENV  := .venv-bot
PY        := $(VENV)/bin/python
BOT_PY    := $(BOT_VENV)/bin/python
RASA      := $(BOT_VENV)/bin/rasa
BOT_PYTHON ?=
PYTHON311  ?=
PIP_FLAGS := --disable-pip-version-check --progress-bar off
# uv installs both environments from its cache in ~/.cache/uv, outside the clone, so a fresh
# clone sets up in seconds (scripts/venv_install.sh). uv itself lives in .venv.
UV_VERSION := 0.13.9
UV        := $(VENV)/bin/uv
INSTALL   := scripts/venv_install.sh

.PHONY: lock help setup run run-scaled run-portal test test-bot test-python lint bot-model chromium nginx clean bench-nlu

help:
	@echo "make run    set up, migrate, seed demo data, train the bot if needed, start everything"
	@echo "make run-scaled  nginx, 2 portal workers, 2 Rasa servers on PostgreSQL + Redis"
	@echo "make test   set up and run the whole test suite"
	@echo "make lint   ruff and mypy"

$(UV):
	@py=$$(scripts/find_python.sh 3.11 "$(PYTHON311)") && \
	  { [ -x $(PY) ] || $$py -m venv $(VENV); }
	$(PY) -m pip install $(PIP_FLAGS) -q uv==$(UV_VERSION)

# Exactly what the lock files pin, checked against their hashes (scripts/lock.sh makes them);
# the project itself goes in last, editable, with nothing resolved beyond the lock.
$(VENV)/.installed: pyproject.toml requirements.lock $(UV) $(INSTALL)
	$(INSTALL) $(VENV) $(UV) install --require-hashes -r requirements.lock
	$(INSTALL) $(VENV) $(UV) install --no-deps -e .
	touch $@

$(BOT_VENV)/.installed: bot/requirements.lock $(UV) $(INSTALL)
	@py=$$(scripts/find_python.sh 3.10 "$(BOT_PYTHON)") && \
	  { [ -x $(BOT_PY) ] || $$py -m venv $(BOT_VENV); }
	$(INSTALL) $(BOT_VENV) $(UV) install --require-hashes -r bot/requirements.lock
	touch $@

chromium:
	@scripts/ensure_chromium.sh

# The scaled topology's proxy: `make run-scaled` and its test (tests/scale/test_topology.py).
nginx:
	@scripts/ensure_nginx.sh

setup: $(VENV)/.installed $(BOT_VENV)/.installed

bot-model: setup
	@$(PY) scripts/bot_model.py --bot-env $(BOT_VENV) > /dev/null

run: setup
	$(PY) -m portal run

# The production topology on this machine (docs/deploy.md): nginx, WORKERS portal workers,
# RASA_SERVERS Rasa servers, on the local PostgreSQL (database aftersales_scaled) and Redis.
WORKERS ?= 2
RASA_SERVERS ?= 2
run-scaled: setup nginx
	$(PY) -m portal run --scaled --workers $(WORKERS) --rasa $(RASA_SERVERS)

run-portal: $(VENV)/.installed
	$(PY) -m portal run --no-bot

test: setup chromium nginx bot-model test-bot test-python

test-bot: setup bot-model
	cd bot && RASA_TELEMETRY_ENABLED=false ../$(RASA) data validate --domain domain \
	  --data data --config config.yml
	$(BOT_PY) -m pytest bot/tests -q
	# --e2e: the stories' messages go through NLU too, not just the written intents.
	RASA_TELEMETRY_ENABLED=false $(RASA) test core --e2e --stories bot/tests/test_stories.yml \
	  --model "$$($(PY) scripts/bot_model.py --bot-env $(BOT_VENV) | tail -n 1)" \
	  --out var/rasa-test-results --fail-on-prediction-errors

# NLU figures on the held-out set (bot/tests/nlu_holdout.yml) for BENCHMARKS.md; not in `make test`.
bench-nlu: setup bot-model
	RASA_TELEMETRY_ENABLED=false $(BOT_PY) scripts/bot_nlu_eval.py \
	  --model "$$($(PY) scripts/bot_model.py --bot-env $(BOT_VENV) | tail -n 1)"

# TEST_WORKERS pytest processes share the suite, a test file each at a time (so a file's
# module-scoped servers start once); the slowest tests are listed at the end, so CI's log
# shows where the time goes.
TEST_WORKERS ?= 2
test-python: setup chromium nginx
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=30

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check portal channels knowledge_base tests benchmarks scripts bot
	$(VENV)/bin/ruff format --check portal channels knowledge_base tests benchmarks scripts bot
	$(VENV)/bin/mypy

# After changing a dependency in pyproject.toml or bot/requirements.txt (needs both venvs).
lock: $(UV)
	scripts/lock.sh

clean:
	rm -rf var/logs var/rasa-test-results
