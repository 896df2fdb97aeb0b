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

.PHONY: run test lint gotest fuzz pytest bench venv build kernelspec clean chromium webtest

## run: set up everything, then serve JupyterLab with hops lab on the demo workspace (Ctrl-C stops it).
## The example notebooks are copied in once; edits to them are kept on later runs.
run: build venv
	mkdir -p $(DEMO)
	cp -n examples/*.ipynb $(DEMO)/
	bin/hops lab --dir $(DEMO) --python $(CURDIR)/$(PY) $(LAB_FLAGS)

## test: set up everything the tests need and run every test (lint, Go tests, fuzzing, real Jupyter clients).
test: build venv lint gotest fuzz pytest webtest

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

## chromium: Debian's chromium for the browser end-to-end test (apt; we run as root in CI).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

WEB := tests/web
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

## webtest: the JavaScript suites against `hops lab`: the Jupyter Server API through @jupyterlab/services
## (HOPS_WEB_SERVER=jupyter runs it against jupyter_server, the reference) and JupyterLab in headless chromium.
webtest: build venv chromium $(WEB)/node_modules/.package-lock.json
	node --test --test-concurrency=1 --test-force-exit --test-reporter=spec $(WEB)/*.test.mjs

## bench: hops kernel vs ipykernel launched directly, then hops lab vs jupyter_server (numbers go in the issue notes).
bench: build venv
	$(PY) bench/kernel_bench.py
	$(PY) bench/server_bench.py

clean:
	rm -rf bin $(VENV) .tools $(DEMO)
