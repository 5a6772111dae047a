# CityLoop: every documented way to do things. `make run` and `make test` install what is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PORT ?= 8000
SIMULATE ?= 20
SPEED ?= 360
CLOCK_START ?= next-opening
export CITYLOOP_API_KEYS ?= {"demo-hotline":"hotline","demo-video":"video","demo-iot":"iot","demo-open311":"open311"}
export PYTHONPATH := $(CURDIR)

.PHONY: help install run test test-fast lint format stack stack-stop bench chaos eval dashboards demo-data kafka-fetch contracts console-vendor clean

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP):
	@command -v $(PY) >/dev/null || PY=python3; $${PY:-$(PY)} -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

kafka-fetch: ## Fetch the pinned Apache Kafka broker jars from Maven Central
	deploy/kafka/kafka.sh fetch

run: install ## Bring the whole platform up in one process (embedded PostgreSQL, demo city, simulator)
	CITYLOOP_ENVIRONMENT=dev CITYLOOP_CLOCK_SPEED=$(SPEED) CITYLOOP_CLOCK_START=$(CLOCK_START) $(BIN)/cityloop run all --port $(PORT) --simulate $(SIMULATE)

test: install kafka-fetch ## Start real Kafka + PostgreSQL and run the whole suite
	deploy/test.sh $(ARGS)

test-fast: install ## Unit tests only (no servers)
	$(BIN)/python -m pytest tests/unit -q $(ARGS)

lint: install ## ruff, mypy and the import-linter boundaries
	$(BIN)/ruff check .
	$(BIN)/mypy shared services intake router workflow analytics tools
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

stack: install kafka-fetch ## Distributed topology: Kafka, PostgreSQL, each service its own process
	deploy/stack.sh start

stack-stop:
	deploy/stack.sh stop

bench: install kafka-fetch ## Throughput and latency benchmarks (writes BENCHMARKS.md)
	deploy/bench.sh

chaos: install kafka-fetch ## Fault tests under load: kill services, broker and database
	deploy/test.sh -m slow

eval: install ## Classifier precision/recall/macro-F1 on the held-out set
	$(BIN)/python -m router.eval

dashboards: install ## Regenerate Grafana dashboards from code
	$(BIN)/python -m analytics.dashboards

contracts: install ## Regenerate deploy/contracts/asyncapi.json from the event contracts
	$(BIN)/python -m shared.contracts.export deploy/contracts/asyncapi.json

console-vendor: ## Re-vendor the console's front-end libraries from npm (pinned; commit the result)
	deploy/console/vendor.sh

demo-data: install ## Regenerate the demo district (deterministic)
	$(BIN)/python deploy/demo/generate_district.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
