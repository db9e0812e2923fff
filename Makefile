# Falco plugin for Docker Engine events.
SHELL := /bin/bash
GO ?= go
NAME := docker
OUTPUT := lib$(NAME).so
PLUGIN_DIR ?= /usr/share/falco/plugins
GOFLAGS_TEST ?= -count=1 -timeout 25m
# json-iterator's sloppy skipping skips objects without allocating a string
# per key; the event decoder skips the attributes object of every event.
# (internal/plugintest.BuildTags must say the same.)
GOTAGS := jsoniter_sloppy
# Sources of the .so: the plugin package and the reader package.
SOURCES := $(wildcard *.go stream/*.go) go.mod go.sum

# Each fuzz target runs FUZZTIME within make test; make fuzz-long runs longer.
FUZZTIME ?= 30s
FUZZ_TARGETS := .:FuzzDecodeAndExtract ./stream:FuzzTimeNano ./stream:FuzzLineSplitter

.PHONY: all install test test-unit test-e2e e2e-root dockerd29 vet fmt demo bench profile clean deps fuzz fuzz-long soak record package

all: $(OUTPUT)

$(OUTPUT): $(SOURCES)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -tags $(GOTAGS) -o $@ .

install: $(OUTPUT)
	install -D -m 0644 $(OUTPUT) $(PLUGIN_DIR)/$(OUTPUT)

# What falcosecurity/plugins publishes for a plugin (its Makefile's
# package/% target and build/registry), for falcoctl: in $(DIST_DIR),
# docker-<version>-linux-<arch>.tar.gz (libdocker.so),
# docker-rules-<version>.tar.gz (docker_rules.yaml) and index.yaml, whose
# entries point at $(OCI_REGISTRY)/$(OCI_REPOSITORY)/{plugin,ruleset}/docker.
# The version is read from the built library (plugin_get_version); the
# metadata from registry.yaml. build/package/package_test.go installs the
# result as falcoctl does and loads it.
DIST_DIR ?= dist
OCI_REGISTRY ?= ghcr.io
OCI_REPOSITORY ?= falco-docker/plugin
package: $(OUTPUT)
	rm -rf -- $(DIST_DIR)
	$(GO) run ./build/package -so $(OUTPUT) -rules rules/docker_rules.yaml -registry registry.yaml \
		-out $(DIST_DIR) -oci-registry $(OCI_REGISTRY) -oci-repository $(OCI_REPOSITORY)

# What the tests and the demo need on a fresh machine of this kind.
deps:
	@./.ci/deps

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

vet:
	$(GO) vet -tags $(GOTAGS) ./...

# The tests come in two layers (internal/testdocker/layer.go):
#   test-unit  needs neither root nor a Docker daemon nor the network
#              (loopback listeners in the test process only): the decoder,
#              extraction, config, the follower against an in-process fake
#              daemon, the .so through its C ABI on replay files, the rules
#              on their fixture, packaging. The e2e tests skip.
#   test-e2e   the tests on real daemons: the machine's, private ones in
#              their own network namespaces, Swarm. A test is one when its
#              own body calls testdocker.Require or StartDaemon
#              (.ci/e2e-tests lists them). Needs root; runs .ci/deps first.
# make test runs both, then the fuzz targets. Without root it runs the unit
# layer and fuzz and says on one line what it skipped, and why; under
# CI=true it fails instead: CI must run the whole suite.
GO_TEST = DOCKER_PLUGIN_SO=$(CURDIR)/$(OUTPUT) $(GO) test $(GOFLAGS_TEST) -tags $(GOTAGS) -race
E2E_RUN = $(shell .ci/e2e-tests run)
E2E_PKGS = $(shell .ci/e2e-tests packages)
# -p 1: one package at a time, so that no package's private daemons and
# loopback listeners race another's (a port a stopped daemon freed, taken
# at once by another package's listener).
# go test's default of 10 minutes per package is short for the e2e package:
# its leak soak (TestLifecycleCyclesLeakNothing) alone took 858 s under
# -race on a loaded 2-core machine.
E2E_TIMEOUT ?= 30m

test:
	@if [ "$$(id -u)" != 0 ]; then skip="it needs root (this is uid $$(id -u))"; \
	elif ! ./.ci/deps; then skip=".ci/deps could not provide a Docker daemon (see above)"; \
	else skip=; fi; \
	if [ -n "$$skip" ] && [ "$$CI" = true ]; then \
		echo "make test: CI=true, and the e2e layer cannot run: $$skip" >&2; exit 1; \
	fi; \
	$(MAKE) --no-print-directory test-unit && \
	{ [ -n "$$skip" ] || $(MAKE) --no-print-directory test-e2e; } && \
	$(MAKE) --no-print-directory fuzz && \
	if [ -n "$$skip" ]; then \
		echo "make test: skipped the e2e layer ($$(.ci/e2e-tests run | tr '|' '\n' | wc -l) tests on real Docker daemons, make test-e2e) because $$skip"; \
	fi

test-unit: fmt vet $(OUTPUT)
	DOCKER_PLUGIN_TESTS=unit DOCKER_PLUGIN_E2E_RUN='$(E2E_RUN)' $(GO_TEST) ./...

# The Docker 29 daemon the e2e tests also run (privately, next to the
# machine's): built once from the Go module proxy (about 7 minutes on 2
# cores), then cached. Only the e2e tests need it, not the demo.
dockerd29:
	@./.ci/dockerd29

# The soak runs last, on its own and verbose, so that its figures (events,
# restarts, lost, duplicated, gaps on each daemon) are in the log.
SOAK_TEST = ^TestSoakRestartsUnderLoad$$
test-e2e: e2e-root deps dockerd29 $(OUTPUT)
	DOCKER_PLUGIN_TESTS=e2e $(GO_TEST) -p 1 -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)' -skip '$(SOAK_TEST)' $(E2E_PKGS)
	@$(MAKE) --no-print-directory soak

e2e-root:
	@[ "$$(id -u)" = 0 ] || { echo "make test-e2e: the e2e layer needs root (private daemons in network namespaces, the machine's daemon)" >&2; exit 1; }

# The soak alone (make test-e2e ends with it): 20 restarts of a private
# Docker 20.10 and of a private Docker 29 under a steady load, with a
# consumer stall; about 2.5 minutes. -v prints its figures.
soak: e2e-root deps dockerd29 $(OUTPUT)
	DOCKER_PLUGIN_TESTS=e2e $(GO_TEST) -timeout $(E2E_TIMEOUT) -run '$(SOAK_TEST)' -v ./e2e

# Re-record the replay fixtures, e2e/testdata/events.jsonl and
# rules/testdata/rules_events.jsonl, with the one recorder both use
# (internal/recorder): a private dockerd with Swarm, followed by the
# plugin's live source while each fixture's scenario drives it. Re-recording
# shifts the rules fixture's line numbers: TestRulesFixture then names the
# comments of docker_rules.yaml to update (this run logs the new lines).
record: e2e-root deps $(OUTPUT)
	DOCKER_PLUGIN_SO=$(CURDIR)/$(OUTPUT) $(GO) test -count=1 -timeout 10m -tags $(GOTAGS) -v \
		-run '^(TestRecordFixture|TestRecordRulesFixture)$$' ./e2e ./rules -args -record

# Fuzz the event decoder, every field's extraction, the timestamp picker and
# the line splitter on arbitrary bytes (seeds: the recorded daemon events).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} for $(FUZZTIME)"; \
		$(GO) test -tags $(GOTAGS) -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=10m

# The main job: build the plugin, load it through its C ABI as Falco does,
# and print real Docker events as they happen, with the docker.* fields the
# shipped rules read, then a summary with the plugin's metrics. By default
# it also runs, execs into, kills and stops containers for 20 s, so that
# the events the rules are about flow on an idle machine, and removes them
# at the end or on Ctrl-C; DEMO_ARGS= streams until Ctrl-C.
DEMO_ARGS ?= -generate -duration 20s
demo: deps $(OUTPUT)
	$(GO) run ./cmd/docker-tail -plugin $(CURDIR)/$(OUTPUT) -rules $(CURDIR)/rules/docker_rules.yaml $(DEMO_ARGS)

# Benchmarks through the C ABI (bench/), ours side by side with the seed
# design rebuilt in bench/baseline: each library is measured by its own run
# of the same benchmarks (a process holds one Go runtime), then benchstat
# compares them. BENCHMARKS.md records and explains the figures.
BENCH_OUT := bench/out
BENCH_BASELINE := $(BENCH_OUT)/libbaseline.so
BENCH_COUNT ?= 6
BENCH_RUN = $(GO) test ./bench -tags $(GOTAGS) -run='^$$' -bench=. -count=$(BENCH_COUNT) -timeout=90m
BENCHSTAT ?= $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin/benchstat

$(BENCH_BASELINE): $(wildcard bench/baseline/*.go) go.mod go.sum
	@mkdir -p $(BENCH_OUT)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -o $@ ./bench/baseline

$(BENCHSTAT):
	$(GO) install golang.org/x/perf/cmd/benchstat@latest

bench: $(OUTPUT) $(BENCH_BASELINE) $(BENCHSTAT)
	set -o pipefail; BENCH_PLUGIN=baseline BENCH_SO=$(CURDIR)/$(BENCH_BASELINE) $(BENCH_RUN) | tee $(BENCH_OUT)/baseline.txt
	set -o pipefail; BENCH_PLUGIN=ours BENCH_SO=$(CURDIR)/$(OUTPUT) $(BENCH_RUN) | tee $(BENCH_OUT)/ours.txt
	$(BENCHSTAT) baseline=$(BENCH_OUT)/baseline.txt ours=$(BENCH_OUT)/ours.txt | tee $(BENCH_OUT)/benchstat.txt

# CPU and allocation profiles of the hot paths, in $(BENCH_OUT): the decoder
# and extraction in-process (decode.*.prof: the test's own runtime, so
# -cpuprofile and -memprofile see the plugin's code), and each library's
# runtime inside the C-ABI pipeline, fetched from its pprof server
# (ours.*.prof, baseline.*.prof). Open one with
#   go tool pprof -top bench/out/ours.cpu.prof
#   go tool pprof -http=:8080 bench/out/ours.cpu.prof
profile: $(OUTPUT) $(BENCH_BASELINE)
	$(GO) test . -tags $(GOTAGS) -run='^$$' -bench='^(BenchmarkDecode|BenchmarkExtractField)$$' -benchmem -count=1 \
		-o $(CURDIR)/$(BENCH_OUT)/plugin.test \
		-cpuprofile=$(CURDIR)/$(BENCH_OUT)/decode.cpu.prof -memprofile=$(CURDIR)/$(BENCH_OUT)/decode.mem.prof
	BENCH_PLUGIN=ours BENCH_SO=$(CURDIR)/$(OUTPUT) BENCH_PROFILE_DIR=$(CURDIR)/$(BENCH_OUT) \
		$(GO) test ./bench -tags $(GOTAGS) -run='^$$' -bench='^BenchmarkProfile$$' -benchtime=1x
	BENCH_PLUGIN=baseline BENCH_SO=$(CURDIR)/$(BENCH_BASELINE) BENCH_PROFILE_DIR=$(CURDIR)/$(BENCH_OUT) \
		$(GO) test ./bench -tags $(GOTAGS) -run='^$$' -bench='^BenchmarkProfile$$' -benchtime=1x
	@for p in decode.cpu decode.mem ours.cpu ours.allocs baseline.cpu baseline.allocs; do \
		case $$p in *.cpu) index=cpu;; *) index=alloc_space;; esac; \
		echo "== $(BENCH_OUT)/$$p.prof ($$index)"; \
		$(GO) tool pprof -top -nodecount=15 -sample_index=$$index $(BENCH_OUT)/$$p.prof 2>/dev/null | sed -n '/flat%/,$$p'; \
	done

clean:
	rm -f $(OUTPUT) lib$(NAME).h
	$(GO) clean -testcache
