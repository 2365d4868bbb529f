# SPICA-DB: the two commands are `make run` and `make test`; everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVICE_DIRS := $(sort $(dir $(wildcard services/*/pyproject.toml)))
# the services mypy checks as strictly as libs/ (one run each: the kit is a namespace package, found
# there through the installed copy); the others join as their errors are fixed (issue 15)
STRICT_SERVICES := services/auth/src services/gateway/src services/nightlogs/src services/obsportal/src \
	services/oidb/src services/oifits/src services/programmes/src services/tap/src services/web/src
# the commands the platform's users run (the DRS's spicadb-drs): packages of their own, no server code
CLIENT_DIRS := $(sort $(dir $(wildcard clients/*/pyproject.toml)))
PACKAGE_FILES := constraints.txt requirements-dev.txt contracts/pyproject.toml libs/kit/pyproject.toml libs/astro/pyproject.toml \
                 $(wildcard services/*/pyproject.toml) $(wildcard clients/*/pyproject.toml)

.PHONY: help install system run stop test chaos bench bench-smoke lint format contracts contracts-check clean

help:
	@echo "make run        start PostgreSQL, NATS and every service on local defaults (data in .spicadb/)"
	@echo "make stop       stop what 'make run' started"
	@echo "make test       run the test suite against real PostgreSQL and NATS servers"
	@echo "make chaos      the fault suite (tests/cluster, tests/chaos): processes killed, NATS and PostgreSQL restarted, ..."
	@echo "                and the backup/restore round trip (tests/runtime/test_backup_restore.py)"
	@echo "make bench-smoke  every bench script at a tiny size (a broken bench fails it)"
	@echo "make bench      measure every path against a raw baseline in the same run (see the README)"
	@echo "make lint       ruff and mypy"
	@echo "make contracts  regenerate the event JSON Schemas, the AsyncAPI and the OpenAPI documents"
	@echo "make clean      stop and remove the virtualenv, caches and the local data folder"

# The virtualenv, rebuilt when a package definition or a pin changes.
$(STAMP): $(PACKAGE_FILES)
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt $(foreach d,$(SERVICE_DIRS) $(CLIENT_DIRS),-e ./$(d))
	@touch $@

install: $(STAMP)

# Debian packages the platform needs (PostgreSQL 15 with pgsphere); installs them when root, explains otherwise.
system: $(STAMP)
	$(BIN)/spicadb doctor --install

run: system
	$(BIN)/spicadb run

stop: $(STAMP)
	$(BIN)/spicadb stop

test: system contracts-check
	$(BIN)/spicadb doctor --install --validators
	$(PY) -m pytest $(foreach t,$(CHAOS_TESTS) $(BENCH_SMOKE),--ignore=$(t)) $(PYTEST_ARGS)

# fault tests too long for make test's 20 minutes: each bounded, loopback only, stopping what it starts;
# the whole run too (SIGINT first: pytest's fixtures stop their processes by pid, then SIGKILL a minute later)
# (the backup round trip is here too: with it and the bench smoke run, make test took 21 min 26 s)
CHAOS_TESTS := tests/cluster tests/chaos tests/runtime/test_backup_restore.py
CHAOS_SECONDS ?= 1800
chaos: system
	$(BIN)/spicadb doctor --install --validators
	timeout --signal=INT --kill-after=60 $(CHAOS_SECONDS) $(PY) -m pytest $(CHAOS_TESTS) $(PYTEST_ARGS)

# every bench script at a tiny size, so a broken bench shows (some 105 CPU-seconds: out of make test's 20 minutes)
BENCH_SMOKE := tests/bench/test_bench_smoke.py
bench-smoke: system
	$(PY) -m pytest $(BENCH_SMOKE) $(PYTEST_ARGS)

# every script runs even when one misses a target (the status says whether any did; Ctrl-C stops all);
# BENCH_ARGS="--json FILE": one document for the run, each script merging its section into FILE, the run's
# id (SPICADB_BENCH_RUN) making the first start it afresh (tests/bench/bench_report.py)
BENCH_SCRIPTS = run gateway programmes nightlogs oifits tap tap_catalogue web

bench: system
	@status=0; run=$$(date -u +%Y%m%dT%H%M%SZ)-$$$$; for script in $(BENCH_SCRIPTS); do \
		echo "== tests/bench/$$script.py $(BENCH_ARGS)"; \
		SPICADB_BENCH_RUN=$$run $(PY) tests/bench/$$script.py $(BENCH_ARGS) \
			|| { rc=$$?; [ $$rc -lt 128 ] || exit $$rc; status=1; }; \
	done; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/kit/src libs/astro/src contracts/src clients/drs/src
	$(foreach d,$(STRICT_SERVICES),$(BIN)/mypy $(d) &&) true

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

contracts: $(STAMP)
	$(BIN)/spicadb-contracts generate
	$(BIN)/spicadb openapi --output contracts/openapi

contracts-check: $(STAMP)
	$(BIN)/spicadb-contracts check
	$(BIN)/spicadb openapi --output contracts/openapi --check

clean:
	-@test -x $(BIN)/spicadb && $(BIN)/spicadb stop
	rm -rf $(VENV) .spicadb .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
