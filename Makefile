# Meterplex — the project's vocabulary: dev, test, lint, synth, deploy, bench, openapi.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
STAGE ?= dev
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: dev test test-unit test-integration test-infra test-e2e test-sdk fuzz load lint format layer synth deploy bench openapi clean

# The dev environment: runtime + local cloud only (no CDK, no test tools), so a first start is quick.
$(VENV)/.dev: requirements/runtime.txt requirements/local.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements/local.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.test: $(VENV)/.dev requirements/test.txt sdk/python/pyproject.toml
	$(BIN)/pip install -q -r requirements/test.txt
	$(BIN)/pip install -q --no-deps -e sdk/python
	touch $@

$(VENV)/.load: $(VENV)/.test requirements/load.txt
	$(BIN)/pip install -q -r requirements/load.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

dev: $(VENV)/.dev  ## start the whole platform at http://127.0.0.1:$(PORT)
	$(BIN)/python -m infra.local serve --port $(PORT)

# Two workers (pytest-xdist, --dist loadfile): a test module stays on one worker, so its module
# fixtures are built once; the longest modules (CDK syntheses, e2e clouds) are collected first so
# they start first. JOBS=0 = one process.
JOBS ?= 2
test: $(VENV)/.test  ## every suite: unit, integration, infra, e2e, then the SDK's own unit tests
	$(BIN)/pytest -q -n $(JOBS) --dist loadfile tests/infra tests/e2e tests/integration tests/unit
	$(BIN)/pytest -q sdk/python/tests

test-unit: $(VENV)/.test
	$(BIN)/pytest -q tests/unit
test-integration: $(VENV)/.test
	$(BIN)/pytest -q tests/integration
test-infra: $(VENV)/.test
	$(BIN)/pytest -q tests/infra
test-e2e: $(VENV)/.test
	$(BIN)/pytest -q tests/e2e
test-sdk: $(VENV)/.test  ## the SDK's unit tests (respx, no sockets)
	$(BIN)/pytest -q sdk/python/tests

# The long fuzz run (tests/e2e/test_fuzz.py; `make test` runs a bounded one): every operation of
# /api/openapi.json, schemathesis' examples, coverage and fuzzing phases, new inputs every run.
FUZZ_EXAMPLES ?= 100
fuzz: $(VENV)/.test  ## fuzz the running local cloud from its OpenAPI document; prints a report
	MP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) MP_FUZZ_PHASES=examples,coverage,fuzzing MP_FUZZ_DERANDOMIZE=false \
		$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_fuzz.py

# The load harness (load/, docs/load.md): its own local cloud on free ports (or MP_LOAD_URL), Locust
# scenarios, a billing day through the test clock, then the verifications; bounded by MP_LOAD_* knobs.
load: $(VENV)/.load  ## load the local cloud, print throughput and p50/p99 per route, verify nothing was lost
	$(BIN)/python -m load

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The CDK CLI offline: no version check, notices or telemetry calls; the stack is environment-agnostic.
KAFKA ?= serverless
CDK := CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true npx --no-install cdk --no-notices
CDK_CONTEXT := -c stage=$(STAGE) -c kafka=$(KAFKA)

layer: $(VENV)/.test  ## the Lambda dependency layer (pip --platform, no Docker; cached by requirements hash)
	$(BIN)/python -m infra.layers

synth: $(VENV)/.test node_modules/.installed layer  ## cdk synth, offline
	$(CDK) synth --quiet $(CDK_CONTEXT)

deploy: $(VENV)/.test node_modules/.installed layer  ## needs AWS credentials; see docs/deploy.md
	$(CDK) deploy $(CDK_CONTEXT) --require-approval never --outputs-file cdk.out/outputs-$(STAGE).json

bench: $(VENV)/.test
	$(BIN)/python -m bench.hot_path
	$(BIN)/python -m bench.hot_key
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.access
	$(BIN)/python -m bench.clock
	$(BIN)/python -m bench.sdk
	$(BIN)/python -m bench.billing
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.reconciliation
	$(BIN)/python -m bench.billing_day
	$(BIN)/python -m bench.payments
	$(BIN)/python -m bench.metrics
	$(BIN)/python -m bench.telemetry

openapi: $(VENV)/.dev  ## write the merged OpenAPI document to docs/openapi.json (no local cloud needed)
	$(BIN)/python -m infra.local openapi > docs/openapi.json

clean:
	rm -rf $(VENV) node_modules cdk.out .local build layers/deps/python layers/deps/.built
