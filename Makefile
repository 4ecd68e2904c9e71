# The two commands: `make run` (set up, demo corpus if data/raw is empty, ingest, summary)
# and `make test`. Both create the environment first; nothing else needs installing.
UV := python3 -m uv
UV_VERSION := 0.13.9
PYTEST_ARGS ?= -n 2

.PHONY: setup run test test-all lint bench dev clean-warehouse

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@

run: setup
	$(UV) run gongkai synth data/raw --if-empty
	$(UV) run gongkai ingest
	$(UV) run gongkai summary

test: setup
	$(UV) run pytest -m "not slow" $(PYTEST_ARGS)

test-all: setup
	$(UV) run pytest $(PYTEST_ARGS)

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .

bench: setup
	$(UV) run python -m bench.run

# The Dagster UI with a persistent instance (run history, schedule and sensor state) under data/.
dev: setup
	mkdir -p data/dagster_home
	DAGSTER_HOME=$(CURDIR)/data/dagster_home $(UV) run dagster dev -w workspace.yaml

clean-warehouse:
	rm -f data/warehouse.duckdb data/warehouse.duckdb.wal
