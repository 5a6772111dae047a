# CityLoop: every documented way to do things. `make run` and `make test` install what is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Installs come from uv.lock (every package pinned with its hashes), never from pyproject.toml's ranges;
# `make lock` re-resolves it. uv itself is pinned and bootstrapped from PyPI with the machine's own Python.
UV_VERSION := 0.13.9
UV_DIR := .tools/uv-$(UV_VERSION)
UV := $(UV_DIR)/bin/uv
PYTHON := $(shell command -v $(PY) || command -v python3)
export UV_PYTHON_DOWNLOADS := never
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml uv.lock 2>/dev/null | sha1sum | cut -c1-12)
PORT ?= 8000
CONTAINER ?= $(shell command -v podman || echo docker)
TAG ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
SIMULATE ?= 20
SPEED ?= 360
CLOCK_START ?= next-opening
export CITYLOOP_API_KEYS ?= {"demo-hotline":"hotline","demo-video":"video","demo-iot":"iot","demo-open311":"open311"}
export PYTHONPATH := $(CURDIR)

.PHONY: help install lock run test test-fast lint format stack stack-stop bench chaos eval dashboards demo-data k8s image kafka-fetch contracts console-vendor clean

help:
	@grep -E '^[a-z0-9-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(UV):
	rm -rf $(UV_DIR) && $(PYTHON) -m venv $(UV_DIR)
	$(UV_DIR)/bin/pip install -q uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) sync --locked --extra dev --python $(PYTHON) --quiet \
	  || { echo "uv.lock does not match pyproject.toml (or could not be installed): run 'make lock'" >&2; exit 1; }
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create .venv with exactly the versions of uv.lock (the project, its dev tools)

lock: | $(UV) ## Re-resolve uv.lock after editing pyproject.toml (keeps pins; UPGRADE=1 or UPGRADE="pkg ..." upgrades)
	$(UV) lock --python $(PYTHON) $(if $(filter 1,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))

kafka-fetch: ## Fetch the pinned Apache Kafka broker jars from Maven Central
	deploy/kafka/kafka.sh fetch

run: install ## Bring the whole platform up in one process (embedded PostgreSQL, demo city, simulator)
	CITYLOOP_ENVIRONMENT=dev CITYLOOP_CLOCK_SPEED=$(SPEED) CITYLOOP_CLOCK_START=$(CLOCK_START) $(BIN)/cityloop run all --port $(PORT) --simulate $(SIMULATE)

test: install kafka-fetch ## Start real Kafka + PostgreSQL and run the whole suite
	CHAOS_RATE=$${CHAOS_RATE:-8} deploy/test.sh $(ARGS)

test-fast: install ## Unit tests only (no servers)
	$(BIN)/python -m pytest tests/unit -q $(ARGS)

lint: install ## ruff, mypy and the import-linter boundaries
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services intake router workflow analytics tools deploy/k8s/render.py
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

stack: install kafka-fetch ## Distributed topology: Kafka, PostgreSQL, each service its own process
	deploy/stack.sh start

stack-stop:
	deploy/stack.sh stop

bench: install kafka-fetch ## Throughput and latency benchmarks (writes BENCHMARKS.md)
	deploy/bench.sh

chaos: install kafka-fetch ## Fault tests under load (200 reports/s; CHAOS_RATE=… to change): kill services, broker and database
	CHAOS_RATE=$${CHAOS_RATE:-200} deploy/test.sh -m slow

eval: install ## Classifier on the synthetic held-out set and on labelled real citizen messages (../shared)
	$(BIN)/python -m tools.eval

dashboards: install ## Regenerate Grafana dashboards from code
	$(BIN)/python -m analytics.dashboards

contracts: install ## Regenerate deploy/contracts/asyncapi.json from the event contracts
	$(BIN)/python -m shared.contracts.export deploy/contracts/asyncapi.json

console-vendor: ## Re-vendor the console's front-end libraries from npm (pinned; commit the result)
	deploy/console/vendor.sh

k8s: install ## Regenerate deploy/k8s/ (Kubernetes manifests, city ConfigMap) from render.py and the rule files
	$(BIN)/python deploy/k8s/render.py

image: ## Build the OCI image from Containerfile (needs podman or docker; TAG=...)
	$(CONTAINER) build -f Containerfile -t cityloop:$(TAG) .

demo-data: install ## Regenerate the demo district (deterministic)
	$(BIN)/python deploy/demo/generate_district.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
