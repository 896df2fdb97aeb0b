# hops: every setup step lives here, so a fresh clone needs only `make run` or `make test`.
# Downloads are cached in the user's caches (pip, Go modules) and in git-ignored folders.

SHELL        := /bin/bash
VENV         := .venv
PY           := $(VENV)/bin/python
TOOLS        := $(CURDIR)/.tools/bin
STATICCHECK  := $(TOOLS)/staticcheck
VERSION      := 0.1.0+$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS      := -X github.com/hopsml/hops/internal/buildinfo.Version=$(VERSION)
GO_SOURCES   := $(shell find . -name '*.go' -not -path './.venv/*' -not -path './.tools/*' -not -path '*/node_modules/*') go.mod go.sum
FUZZTIME     ?= 20s
DEMO         := demo
FE           := frontend
FE_MODULES   := $(FE)/node_modules/.package-lock.json
FE_SOURCES   := $(wildcard $(FE)/src/*.ts $(FE)/style/*.css) $(FE)/package.json $(FE)/tsconfig.json
FE_BUILT     := $(FE)/labextension/@hopsml/hops/package.json
HDFS_JARS    := .cache/hdfs/lib

.PHONY: run test lint gotest fuzz pytest bench venv build kernelspec clean chromium webtest frontend fetest hdfs-jars bench-deps

## run: set up everything, then serve JupyterLab with hops lab on the demo workspace (Ctrl-C stops it).
## The example notebooks are copied in once; edits to them are kept on later runs.
run: build venv
	mkdir -p $(DEMO)
	cp -n examples/*.ipynb $(DEMO)/
	bin/hops lab --dir $(DEMO) --python $(CURDIR)/$(PY) $(LAB_FLAGS)

## test: set up everything the tests need and run every test (lint, Go tests, fuzzing, real Jupyter clients).
test: build venv lint gotest fetest fuzz pytest webtest

build: bin/hops
bin/hops: $(GO_SOURCES) experiments/probe.py $(wildcard python/hops/*.py) $(FE_BUILT)
	CGO_ENABLED=1 go build -ldflags '$(LDFLAGS)' -o $@ ./cmd/hops

## frontend: the JupyterLab extension (frontend/: TypeScript), built into the prebuilt labextension that
## bin/hops embeds (frontend/labextension/). npm ci runs when package-lock.json changes, the build when a
## source does. The builder shares JupyterLab's packages as listed in the core package.json of the
## JupyterLab that hops serves (jupyterlab-js in the venv), so the extension loads in exactly that one.
frontend: $(FE_BUILT)

# npm packages may ship Go files (flatted does): a go.mod makes node_modules a module of its own, which
# ./... (go vet, go test, staticcheck) then leaves out.
$(FE_MODULES): $(FE)/package-lock.json
	cd $(FE) && npm ci --no-audit --no-fund --ignore-scripts
	echo 'module hops.invalid/node_modules // npm packages, not part of hops' > $(FE)/node_modules/go.mod
	touch $@

# A failed build leaves no output behind, so that the next make builds again.
$(FE_BUILT): $(FE_SOURCES) $(FE_MODULES) $(VENV)/.installed
	cd $(FE) && { npm run --silent build || { rm -rf labextension/@hopsml; exit 1; }; }
	touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: python/requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r python/requirements.lock
	# The hops SDK (python/hops) is importable in the venv from the source tree, as an editable install would be.
	echo $(CURDIR)/python > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/hops-sdk.pth
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

lint: $(STATICCHECK) $(FE_MODULES)
	@out=$$(gofmt -l $$(git ls-files '*.go') $$(git ls-files --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
	cd $(FE) && npm run --silent lint

gotest: hdfs-jars
	go test -race -count=1 ./...

## hdfs-jars: Hadoop's MiniDFSCluster with its dependencies (scripts/hdfs/pom.xml, Maven Central), the real
## HDFS that tests start through internal/testhdfs. Maven caches the downloads in ~/.m2; the stamp skips the
## step until the pom changes, and a change starts from an empty folder so no old jar stays on the classpath.
## Without mvn, Debian's maven is installed (apt; we run as root in CI).
hdfs-jars: $(HDFS_JARS)/.resolved
$(HDFS_JARS)/.resolved: scripts/hdfs/pom.xml
	command -v mvn >/dev/null || (apt-get update && apt-get install -y maven)
	rm -rf $(HDFS_JARS)
	mvn -B -q -f scripts/hdfs/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	  -DoutputDirectory=$(CURDIR)/$(HDFS_JARS)
	touch $@

## fetest: unit tests of the frontend's pure modules (diff layout, folding, word highlights, times).
fetest: $(FE_MODULES)
	cd $(FE) && npm test --silent

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

## bench: hops kernel vs ipykernel launched directly, hops lab vs jupyter_server, notebook history vs the git
## CLI and nbdime, the project store on HDFS vs the Hadoop shell, %%hops run vs python -c pass and Ray Tune,
## listing and comparing 10,000 experiments vs MLflow's tracking server (numbers go in the issue notes).
bench: build venv hdfs-jars bench-deps
	$(PY) bench/kernel_bench.py
	$(PY) bench/server_bench.py
	go run ./bench/versioning -python $(PY) -json bench/results/versioning-$$(date +%Y%m%d-%H%M%S).json
	go run ./bench/store -json bench/results/store-$$(date +%Y%m%d-%H%M%S).json
	$(PY) bench/experiments_bench.py
	$(PY) bench/catalog_bench.py

## bench-deps: the benchmarks' peers that are not part of the project (Ray Tune), in a venv of their own.
BENCH_VENV := .venv-bench
bench-deps: $(BENCH_VENV)/.installed
$(BENCH_VENV)/.installed: bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

clean:
	rm -rf bin $(VENV) .venv-bench .tools $(DEMO) $(FE)/node_modules $(FE)/lib $(FE)/labextension/@hopsml .cache
