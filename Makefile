# One task runner for developers and CI. `make run` and `make test` work on a
# fresh machine with Python 3.11 (and, for the Neo4j tests, a JDK 17 with Maven).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEO4J_DEV := tools/neo4j-dev/neo4j_dev.py
NEO4J_PORT ?= 7687
PYTEST_ARGS ?=

.PHONY: help venv run test lint bench neo4j neo4j-stop clean

help:
	@echo "make run        set up and load the demo estate into ./.vidya, then show it"
	@echo "make test       set up and run every test (starts a Neo4j dev server)"
	@echo "make lint       ruff and mypy"
	@echo "make bench      benchmarks; tables go to docs/benchmarks.md"
	@echo "make neo4j      start the Neo4j dev server on 127.0.0.1:$(NEO4J_PORT) in the background"
	@echo "make neo4j-stop stop it"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/vidya demo

test: $(STAMP)
	$(BIN)/python $(NEO4J_DEV) build
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/ingest_events.py
	$(BIN)/python bench/retrieval.py
	mkdir -p .bench
	$(BIN)/python -m bench.rca.run --preset all --services 50 --scenarios 40 --no-write --json .bench/rca-presets.json
	$(BIN)/python -m bench.rca.run --preset hard --services 500 --scenarios 40 --events 100000 --latency --merge .bench/rca-presets.json
	$(BIN)/vidya ingest ../shared/corpora/openshift-runbooks --home .bench/openshift --json > .bench/openshift-ingest.json
	$(BIN)/vidya eval retrieval --questions bench/questions/openshift-runbooks.jsonl --home .bench/openshift

neo4j:
	$(PYTHON) $(NEO4J_DEV) start --port $(NEO4J_PORT)

neo4j-stop:
	$(PYTHON) $(NEO4J_DEV) stop

clean:
	rm -rf $(VENV) tools/neo4j-dev/target .pytest_cache .mypy_cache .ruff_cache
