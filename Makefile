# Custos: the two commands a newcomer runs are `make run` and `make test`.
SHELL := /bin/bash
export CUSTOS_CACHE ?= $(HOME)/.cache/custos
BIN := ./node_modules/.bin

.PHONY: run test bench lint typecheck build deps test-deps clean cluster-up cluster-down

# Installs npm dependencies when package.json or the lock file changed (native addons build from source).
deps: node_modules/.custos-installed
node_modules/.custos-installed: package.json package-lock.json
	@echo "==> installing npm dependencies (native addons build from source: 1-2 min the first time)"
	npm ci --no-audit --no-fund
	@touch $@

# Compiles the deployables to dist/ (what `make run`, the integration tests and the images run).
build: deps
	@echo "==> building dist/"
	npm run --silent build

run: build
	CUSTOS_RUNTIME=dist $(BIN)/tsx hack/dev-cluster.ts

# Installs what the test suites need (Debian packages, Go-built binaries cached under ~/.cache/custos).
test-deps: deps
	bash hack/test-deps.sh

lint: deps
	@echo "==> lint and format check"
	$(BIN)/eslint .
	$(BIN)/prettier --check .

typecheck: deps
	@echo "==> typecheck"
	$(BIN)/tsc -p tsconfig.json

test: test-deps lint typecheck build
	CUSTOS_RUNTIME=dist $(BIN)/tsx test/run.ts

bench: build
	CUSTOS_RUNTIME=dist $(BIN)/tsx bench/run.ts

# A real single-node Kubernetes built here (docs/kubernetes-local.md); prints the KUBECONFIG line.
cluster-up:
	bash hack/kube/cluster-up.sh

cluster-down:
	bash hack/kube/cluster-down.sh

clean:
	rm -rf node_modules dist .custos

-include Makefile.e2e
