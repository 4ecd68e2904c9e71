# The two commands: `make run` (set up, demo corpus if data/raw is empty, ingest, summary, report)
# and `make test`. Both create the environment first; nothing else needs installing.
UV := python3 -m uv
UV_VERSION := 0.13.9
PYTEST_ARGS ?= -n 2

.PHONY: setup run test test-all lint bench bench-national dev clean-warehouse

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@

run: setup
	$(UV) run gongkai synth data/raw --if-empty
	$(UV) run gongkai ingest
	$(UV) run gongkai summary
	$(UV) run gongkai report

test: setup
	$(UV) run pytest -m "not slow" $(PYTEST_ARGS)

test-all: setup
	$(UV) run pytest $(PYTEST_ARGS)

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .

bench: setup
	$(UV) run python -m bench.run

# National scale (~40 min, not in `make test`): 1k/10k/100k-report corpora ingested through the
# CLI, a no-op and a one-new-file re-ingest, a ~300,000-report warehouse and its analyst queries.
bench-national: setup
	$(UV) run python -m bench.national

# The Dagster UI on the instance `gongkai ingest` records its runs in (DAGSTER_HOME, else
# data/dagster_home, created on first use; pipelines/instance.py). Ctrl-C or a SIGTERM to the
# group stops all of it within about 5 s (pipelines/supervise.py).
dev: setup
	exec $(UV) run gongkai dagster dev -w workspace.yaml

# The warehouse is derived from data/raw: removing it (and its parse cache) costs one full ingest.
clean-warehouse:
	rm -rf data/warehouse.ducklake data/warehouse.ducklake.files data/warehouse.parse-cache.duckdb \
		data/warehouse.parse-cache.duckdb.wal data/.warehouse.ducklake.build data/warehouse.duckdb data/warehouse.duckdb.wal
