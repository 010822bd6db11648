# hsfleet — see README.md. Every target works on a fresh machine with Go;
# the scripts in hack/ install or build whatever else is needed and cache it
# under .cache/ (git-ignored).
SHELL := /usr/bin/env bash
GO    ?= go
CACHE ?= $(CURDIR)/.cache
export CACHE
BIN   ?= $(CURDIR)/bin
export GOTOOLCHAIN ?= local

# Concurrency-heavy packages also run under the race detector.
PKGS_RACE := $(patsubst %,./%/...,$(wildcard agent relay))

.PHONY: all build deps demo fmt fmt-check vet test test-unit test-race bench fuzz pg \
        manifests generate check-generated envtest-assets lint image-tar \
        helm-check e2e-local interop fleet-bench clean help

all: build

help: ## show targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ## build bin/hsfleet (static)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/hsfleet ./cmd/hsfleet

demo: ## run a local fleet (relay + 3 agents, embedded SQLite)
	$(GO) run ./cmd/hsfleet demo

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

deps: ## install missing system packages the tests need (PostgreSQL, openssl, chromium; apt, only when missing)
	hack/ci-deps.sh

test: deps fmt-check vet check-generated ## everything CI runs: generated-file check, vet, all tests
	bash hack/local-cluster/pids_test.sh
	source hack/test-env.sh && $(GO) test -count=1 -timeout 40m $$($(GO) list ./... | grep -v '/test/adversary$$')
	@# The attack oracles bound honest progress by the state timeout: run
	@# them alone, not beside envtest and chart packages on a 2-core runner.
	source hack/test-env.sh && $(GO) test -count=1 -timeout 10m ./test/adversary
	$(if $(PKGS_RACE),source hack/test-env.sh && $(GO) test -race -count=1 -timeout 30m $(PKGS_RACE))

bench: ## benchmarks (real PostgreSQL where needed)
	source hack/test-env.sh && $(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## run every fuzz target for FUZZTIME (default 60s)
	hack/fuzz-all.sh $${FUZZTIME:-60s}

pg: ## a throwaway PostgreSQL for manual runs; prints HSFLEET_TEST_DSN
	$(GO) run ./agent/store/pgtest/pgserver

manifests: ## regenerate CRDs and RBAC
	hack/generate.sh manifests

generate: ## regenerate deepcopy
	hack/generate.sh generate

check-generated: ## fail when generated files are stale
	hack/generate.sh check

envtest-assets: ## build etcd + kube-apiserver for envtest (cached)
	hack/envtest-assets.sh

image-tar: ## build the hsfleet image as a docker-save tarball without Docker
	hack/image-tar.sh

helm-check: ## helm lint + template + server-side dry-run
	hack/helm-check.sh

REFERENCE_DIR ?= $(CURDIR)/../shared/reference/summoner
interop: deps build ## reference Python agents vs hsfleet relay/agents (REFERENCE_DIR; INTEROP_FLAGS=-strict)
	$(GO) build -o $(BIN)/interop ./hack/interop
	$(BIN)/interop -reference $(REFERENCE_DIR) -hsfleet $(BIN)/hsfleet $(INTEROP_FLAGS)

e2e-local: ## end to end in a local single-node cluster built from source
	hack/e2e-local.sh

N ?= 10
fleet-bench: build ## N separate agent processes + relay + durable PostgreSQL; FLEET_ARGS="-directed-routing -- --cycle-interval=1s"
	$(GO) build -o $(BIN)/fleetbench ./hack/fleetbench
	$(BIN)/fleetbench -n $(N) -bin $(BIN)/hsfleet $(FLEET_ARGS)

clean:
	rm -rf $(BIN) dist

.PHONY: kubectl-plugin promtool-rules
kubectl-plugin: ## build bin/kubectl-hsfleet (`kubectl hsfleet mesh` with bin/ on PATH)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/kubectl-hsfleet ./cmd/kubectl-hsfleet

promtool-rules: ## promtool check/test of the chart's alert rules (promtool built from the module proxy, cached)
	$(GO) test -count=1 -v ./test/promrules
