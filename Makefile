# okr-operator developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
N ?= 1000

##@ Everyday

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

.PHONY: demo
demo: venv ## Bring up the bench, run the operator on examples/ and print the OKR tree (ONCE=1 to exit)
	hack/tools.sh all >/dev/null
	$(PY) hack/demo.py $(if $(ONCE),--once,)

.PHONY: test
test: venv lint ## Lint, type-check and run every test (unit, integration, e2e) on a bench it brings up and down
	hack/tools.sh all >/dev/null
	$(PY) hack/testenv.py up --owned-by-make-test
	set +e; . .testenv/env.sh; $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  $(PY) hack/testenv.py down --if-owned-by-make-test; exit $$rc

.PHONY: test-unit
test-unit: venv ## Only the tests that need no bench
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

.PHONY: bench
bench: venv ## Measure N key results (default 1000) on the bench: latency, lateness, writes, RSS, CPU
	hack/tools.sh all >/dev/null
	$(PY) hack/testenv.py up
	. .testenv/env.sh; $(PY) hack/bench.py --count $(N)

##@ Checks

.PHONY: lint
lint: venv ## ruff, mypy --strict and the import layering contracts
	$(VENV)/bin/ruff check operator tests hack
	$(VENV)/bin/ruff format --check operator tests hack
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: fmt
fmt: venv ## Format and auto-fix
	$(VENV)/bin/ruff format operator tests hack
	$(VENV)/bin/ruff check --fix operator tests hack

.PHONY: golden
golden: venv ## Rewrite golden files (helm renders, rules) after a reviewed change
	UPDATE_GOLDEN=1 $(PY) -m pytest -m unit -k golden $(PYTEST_ARGS)

##@ Test bench

.PHONY: testenv-up
testenv-up: venv ## Install/build and start etcd, kube-apiserver, Prometheus, Alertmanager on 127.0.0.1
	hack/tools.sh all >/dev/null
	$(PY) hack/testenv.py up

.PHONY: testenv-status
testenv-status: ## Show pid, port and health of each bench component
	$(PY) hack/testenv.py status

.PHONY: testenv-down
testenv-down: ## Stop everything testenv-up started
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) hack/testenv.py down

##@ Generation

.PHONY: chart-crds
chart-crds: ## Copy crds/ into the Helm chart (tests/unit/test_helm.py checks they are equal)
	rm -f helm/okr-operator/crd-files/*.yaml
	cp crds/*.yaml helm/okr-operator/crd-files/

##@ Dependencies

.PHONY: venv
venv: $(STAMP) ## Create or update .venv with the project and its test extras, pinned by constraints.txt

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

.PHONY: lock
lock: ## Re-pin constraints.txt from a fresh resolve of pyproject.toml
	rm -rf /tmp/okr-lock && $(PYTHON) -m venv /tmp/okr-lock
	/tmp/okr-lock/bin/pip install -q '.[test]'
	/tmp/okr-lock/bin/pip freeze --exclude okr-operator > constraints.txt
