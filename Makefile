# Every target creates the virtual environment itself, so a fresh clone needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest test-postgres bench bench-full bench-scale format check clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py serve --demo

test: lint typecheck pytest test-postgres

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

pytest: $(STAMP)
	$(BIN)/pytest -q

# The same suite again on PostgreSQL: DARGAH_TEST_DATABASE_URL, else the first of
# postgres@ / root@ 127.0.0.1:5432/test that answers; each test in a fresh schema. When no server
# answers the leg is skipped with a message, except in CI (CI=true), where that is a failure.
test-postgres: $(STAMP)
	@url=$$($(BIN)/python -m tests.postgres_kit) || { \
		if [ "$${CI:-}" = "true" ] || [ "$${CI:-}" = "1" ]; then \
			echo "test-postgres: FAILED: CI needs PostgreSQL on 127.0.0.1:5432" >&2; exit 1; \
		fi; \
		echo "test-postgres: SKIPPED: no PostgreSQL answers (set DARGAH_TEST_DATABASE_URL)" >&2; \
		exit 0; \
	}; \
	echo "test-postgres: $$url"; \
	DARGAH_TEST_DATABASE_URL="$$url" $(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/python run.py check

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Under 10 minutes on 2 cores: the hop benchmark (its experiments and the 1M-session growth row
# are bench-full's) and the real conditions (backlog, inbound SMS, PostgreSQL, FULL, the WAL).
bench: $(STAMP)
	$(BIN)/python -m bench --skip-variants --growth-sizes 1000,100000 $(BENCH_ARGS)
	$(BIN)/python -m bench.conditions $(CONDITIONS_ARGS)

# Everything, with the long rows: the experiments, 1M stored sessions on SQLite and on
# PostgreSQL, 200,000 queued messages, memory per 100,000 live sessions, 1 vs 2 processes.
bench-full: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.conditions --full $(CONDITIONS_ARGS)
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

# 1 vs 2 gateway processes on one PostgreSQL (its own section of bench/RESULTS.md).
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
