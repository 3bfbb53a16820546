# The two commands a new user types: `make run` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev

.PHONY: install run test test-fast check migrate lint bench soak fuzz clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ccaas-emulator needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(STAMP)

install: $(STAMP)  ## idempotent: .venv + editable install

run: install  ## migrate, seed the demo data and serve on http://127.0.0.1:8000 and https://127.0.0.1:8443
	$(BIN)/ccaas-emulator serve

test: $(DEV)  ## the whole suite on every core, a module per worker (PostgreSQL variants skip if 127.0.0.1:5432 is unreachable)
	$(BIN)/python -m pytest -n auto --dist loadscope $(PYTEST_ARGS)

test-fast: $(DEV)  ## everything but the slow tests (subprocess servers, real clients, crash runs, fuzzing): the everyday loop, 1 min 44 s alone here (was 3 min 15 s)
	$(BIN)/python -m pytest -n auto --dist loadscope -m "not slow" $(PYTEST_ARGS)

check: $(DEV)  ## lint, format check and mypy --strict: what .ci/run and the pre-commit hook run
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

migrate: install
	$(BIN)/ccaas-emulator migrate

bench: $(DEV)  ## benchmarks (never part of make test); SQLite, then PostgreSQL
	$(BIN)/python bench/dialer.py
	$(BIN)/python bench/dialer.py --postgres
	$(BIN)/python bench/timetravel.py
	$(BIN)/python bench/timetravel.py --postgres
	$(BIN)/python bench/read_side.py
	$(BIN)/python bench/read_side.py --postgres
	$(BIN)/python bench/bulk.py
	$(BIN)/python bench/bulk.py --postgres
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/upload.py --postgres
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/dashboard.py --postgres
	test -d bench/prism/node_modules || (cd bench/prism && npm ci --no-audit --no-fund) || echo "bench: Prism not installed; bench/actions.py skips it"
	$(BIN)/python bench/actions.py
	$(BIN)/python bench/middleware.py

soak: $(DEV)  ## reliability, long forms (never part of make test): 10 min at 200 req/s, then 10+10 SIGKILLs; docs/reliability.md
	$(BIN)/python bench/soak.py --backend sqlite --rate 200 --duration 600
	$(BIN)/python bench/soak.py --backend postgres --rate 200 --duration 600
	$(BIN)/python bench/crash.py --backend sqlite --api-kills 10
	$(BIN)/python bench/crash.py --backend sqlite --split --api-kills 10 --worker-kills 10
	$(BIN)/python bench/crash.py --backend postgres --api-kills 10 --worker-kills 10
	$(BIN)/python bench/probe.py
	$(BIN)/python bench/probe.py --postgres

# make fuzz's sizes: examples asked for per action, per other operation and per generated-body test, and the
# HTTP inputs the run must actually send (0 turns the check off, e.g. with PYTEST_ARGS='-k …').
FUZZ_ACTION_EXAMPLES ?= 4000
FUZZ_EXAMPLES ?= 700
FUZZ_BODY_EXAMPLES ?= 2500
FUZZ_TARGET ?= 100000

fuzz: $(DEV)  ## long fuzzing (never part of make test): >= 100,000 HTTP inputs over every operation, generated action bodies and tokens, randomized, both back ends; ~30 min here
	CCAAS_FUZZ=long CCAAS_FUZZ_ACTION_EXAMPLES=$(FUZZ_ACTION_EXAMPLES) CCAAS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	CCAAS_FUZZ_BODY_EXAMPLES=$(FUZZ_BODY_EXAMPLES) CCAAS_FUZZ_TARGET=$(FUZZ_TARGET) $(BIN)/python -m pytest tests/test_fuzz.py tests/intake/test_generated_bodies.py tests/auth/test_token_fuzz.py -n auto -p no:cacheprovider -q --durations=5 --hypothesis-show-statistics $(PYTEST_ARGS)

lint: $(DEV)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
