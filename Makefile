# hops: every setup step lives here, so a fresh clone needs only `make run` or `make test`.
# Downloads are cached in the user's caches (pip, Go modules) and in git-ignored folders.

SHELL        := /bin/bash
VENV         := .venv
PY           := $(VENV)/bin/python
TOOLS        := $(CURDIR)/.tools/bin
STATICCHECK  := $(TOOLS)/staticcheck
VERSION      := 0.1.0+$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS      := -X github.com/hopsml/hops/internal/buildinfo.Version=$(VERSION)
GO_SOURCES   := $(shell find . -name '*.go' -not -path './.venv/*' -not -path './.tools/*') go.mod go.sum
FUZZTIME     ?= 20s
DEMO         := demo

.PHONY: run test lint gotest fuzz pytest bench venv build kernelspec clean

## run: set up everything, install the "Python 3 (hops)" kernelspec into the project venv and start the demo.
run: build venv kernelspec
	$(PY) scripts/demo.py --workspace $(DEMO)

## test: set up everything the tests need and run every test (lint, Go tests, fuzzing, real Jupyter clients).
test: build venv lint gotest fuzz pytest

build: bin/hops
bin/hops: $(GO_SOURCES) experiments/probe.py
	CGO_ENABLED=1 go build -ldflags '$(LDFLAGS)' -o $@ ./cmd/hops

venv: $(VENV)/.installed
$(VENV)/.installed: python/requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements.lock
	touch $@

## lock: re-resolve python/requirements.in into the fully pinned python/requirements.lock.
lock:
	rm -rf $(VENV).lock && python3 -m venv $(VENV).lock
	$(VENV).lock/bin/pip install --quiet -r python/requirements.in
	$(VENV).lock/bin/pip freeze > python/requirements.lock && rm -rf $(VENV).lock

kernelspec: build venv
	bin/hops kernelspec install --prefix $(VENV) --python $(CURDIR)/$(PY)

$(STATICCHECK):
	GOBIN=$(TOOLS) go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...

gotest:
	go test -race -count=1 ./...

fuzz:
	go test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./kernel

pytest: build venv
	$(PY) -m pytest tests -v --timeout=300 -p no:cacheprovider

## bench: hops kernel vs ipykernel launched directly, in one run (numbers go in the issue note).
bench: build venv
	$(PY) bench/kernel_bench.py

clean:
	rm -rf bin $(VENV) .tools $(DEMO)
