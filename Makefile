# keyledger: one obvious command per task. `make` lists them.
.DEFAULT_GOAL := help
PY ?= python

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

install: ## install keyledger with the dev tools
	$(PY) -m pip install -e '.[dev]'

serve: ## start the service on embedded Postgres and NATS
	keyledger serve

test: ## run the default test suite (embedded servers)
	pytest

fuzz: ## hostile input, larger: schemathesis over every operation, 150 examples each (~7 min)
	pytest -m slow tests/hostile

test-external: ## run integration tests against the servers named by KEYLEDGER_*_URL
	pytest tests/integration tests/e2e

test-faults: ## fault injection (kill -9, PostgreSQL and NATS outages, two APIs and relays)
	pytest tests/faults -rA

test-soak: ## soak tests, e.g. NATS down for a full minute under load
	pytest -m soak -rA

lint: ## ruff, formatting, import layering, module size
	ruff check .
	ruff format --check .
	lint-imports
	@find domain schemas projections infra services -name '*.py' | xargs wc -l | awk '$$2 != "total" && $$1 > 400 {print "over 400 lines: " $$2; bad=1} END {exit bad}'

fmt: ## format and autofix
	ruff format .
	ruff check --fix .

typecheck: ## mypy strict
	mypy

check: lint typecheck test ## everything CI runs

bench: ## event store, relay and latency benchmark (HTTP: make bench-oauth)
	$(PY) -m tests.bench.bench_event_store

bench-oauth: ## wrk: token issuance and introspection vs a do-nothing Litestar ceiling
	$(PY) -m tests.bench.bench_oauth

bench-revocations: ## revoke request to downstream refusal (p50/p99), local validation rate
	$(PY) -m tests.bench.bench_revocations

bench-audit: ## audit trail at 1M events: rebuild, trail and point-in-time queries, export, lag
	$(PY) -m tests.bench.bench_audit

bench-history: ## token and introspection latency on an empty log, then at 1M, 2M, 3M events
	$(PY) -m tests.bench.bench_history

bench-api-keys: ## latency an API key adds (GET /api-keys/current vs /healthz, p50/p99), req/s
	$(PY) -m tests.bench.bench_api_keys

bench-rate-limit: ## microseconds a rate-limit check costs a request (in process, no server)
	$(PY) -m tests.bench.bench_rate_limit

bench-personal-data: ## microseconds sealing personal data adds to an append (in process)
	$(PY) -m tests.bench.bench_personal_data

schema: ## regenerate the published events and revocations JSON Schema snapshots
	keyledger schema events > tests/fixtures/events.schema.json
	keyledger schema revocations > tests/fixtures/revocations.schema.json

migrate: ## apply database migrations
	keyledger migrate

clean: ## remove caches
	rm -rf .mypy_cache .ruff_cache .pytest_cache build *.egg-info

.PHONY: help install serve test fuzz test-external test-faults test-soak lint fmt typecheck check bench bench-oauth bench-revocations bench-audit bench-api-keys bench-rate-limit bench-personal-data schema migrate clean
