# Custos: the two commands a newcomer runs are `make run` and `make test`.
SHELL := /bin/bash
export CUSTOS_CACHE ?= $(HOME)/.cache/custos

.PHONY: run test bench lint typecheck deps test-deps clean

# Installs npm dependencies when package.json or the lock file changed (native addons build from source).
deps: node_modules/.custos-installed
node_modules/.custos-installed: package.json package-lock.json
	@echo "==> installing npm dependencies (native addons build from source, ~1-2 min the first time)"
	npm ci --no-audit --no-fund
	@touch $@

run: deps
	./node_modules/.bin/tsx hack/dev-cluster.ts

# Installs what the test suites need (Debian packages, Go-built binaries cached under ~/.cache/custos).
test-deps:
	bash hack/test-deps.sh

lint: deps
	./node_modules/.bin/eslint .
	./node_modules/.bin/prettier --check .

typecheck: deps
	./node_modules/.bin/tsc -p tsconfig.json

test: deps test-deps lint typecheck
	./node_modules/.bin/tsx test/run.ts

bench: deps
	./node_modules/.bin/tsx bench/run.ts

clean:
	rm -rf node_modules .custos
