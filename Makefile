# Falco plugin for Docker Engine events.
SHELL := /bin/bash
GO ?= go
NAME := docker
OUTPUT := lib$(NAME).so
PLUGIN_DIR ?= /usr/share/falco/plugins
GOFLAGS_TEST ?= -count=1
# Sources of the .so: the plugin package and the reader package.
SOURCES := $(wildcard *.go stream/*.go) go.mod go.sum

# Each fuzz target runs FUZZTIME within make test; make fuzz-long runs longer.
FUZZTIME ?= 30s
FUZZ_TARGETS := .:FuzzDecodeAndExtract ./stream:FuzzTimeNano ./stream:FuzzLineSplitter

.PHONY: all install test vet fmt demo bench profile clean deps fuzz fuzz-long

all: $(OUTPUT)

$(OUTPUT): $(SOURCES)
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -trimpath -o $@ .

install: $(OUTPUT)
	install -D -m 0644 $(OUTPUT) $(PLUGIN_DIR)/$(OUTPUT)

# What the tests and the demo need on a fresh machine of this kind.
deps:
	@./.ci/deps

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: deps fmt vet $(OUTPUT)
	DOCKER_PLUGIN_SO=$(CURDIR)/$(OUTPUT) $(GO) test $(GOFLAGS_TEST) -race ./...
	$(MAKE) --no-print-directory fuzz

# Fuzz the event decoder, every field's extraction, the timestamp picker and
# the line splitter on arbitrary bytes (seeds: the recorded daemon events).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=10m

# The main job: build the plugin, load it through its C ABI as Falco does,
# and print real Docker events with their docker.* fields as they happen.
# By default it also creates and removes a few Docker objects for 20 s, so
# that events flow on an idle machine; DEMO_ARGS= streams until Ctrl-C.
DEMO_ARGS ?= -generate -duration 20s
demo: deps $(OUTPUT)
	$(GO) run ./cmd/docker-tail -plugin $(CURDIR)/$(OUTPUT) $(DEMO_ARGS)

clean:
	rm -f $(OUTPUT) lib$(NAME).h
	$(GO) clean -testcache
