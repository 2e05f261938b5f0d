# Build the book, run the tests, re-execute chapters. Every target sets up what it needs.
#   make book                 build _build/html (from the outputs stored in the notebooks)
#   make test                 unit tests, chapters in the smoke profile (nbval), freshness, book
#   make stale                which chapters' stored outputs are stale, and why
#   make execute [CHAPTER=03] re-run the stale chapters (or CHAPTER) in the full profile, JOBS at
#                             a time (default 2, one thread each), and stamp them
#   make gpu-check            unit tests on cpu+cuda and every chapter (smoke) on a CUDA GPU, timed
#   make lint                 ruff check and ruff format --check (part of make test)
#   make verify [CHAPTER=03]  re-run chapters into a temporary copy, compare the recorded results
#   make sync-url             rewrite the Colab setup cells from _config.yml's repository url
#   make browser              open every built page in headless Chromium (part of make test)
#   make train EXP=w2bench-semidual-d16 [ARGS="--hours 0.5"]
#                             one long experiment through scripts/train.py (resumes a stored run;
#                             `make train` lists the registry)
#   make linkcheck            check external links (needs internet; not part of make test)

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Offline data: ../shared/data when it is there (CI), else whatever MGN_DATA already says.
MGN_DATA ?= $(if $(wildcard ../shared/data/MNIST),$(abspath ../shared/data),)
export MGN_DATA

# MathJax 3 is served with the book so that the math typesets offline; it comes from the
# npm registry, is checked against this SHA-256, and is never committed.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_TGZ := .cache/mathjax-$(MATHJAX_VERSION).tgz
MATHJAX := .cache/mathjax-html/mathjax/tex-chtml.js

# Small models run fastest with one thread per process; two pytest workers use both cores.
# (Two-thread torch beside another busy process is several times slower; see PITFALLS.)
NBVAL := OMP_NUM_THREADS=1 MGN_PROFILE=smoke $(PY) -m pytest chapters/ --nbval-lax --nbval-current-env \
         --nbval-cell-timeout=600 -n 2 --dist loadfile -p no:cacheprovider -q

.PHONY: train book pages test lint unit nbval freshness browser chromium linkcheck execute stale verify sync-url \
        gpu-check clean

$(INSTALLED): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(MATHJAX):
	@mkdir -p .cache
	@test -f $(MATHJAX_TGZ) || (cd .cache && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null)
	@echo "$(MATHJAX_SHA256)  $(MATHJAX_TGZ)" | sha256sum --quiet -c - || \
	  (echo "MathJax archive checksum mismatch: delete $(MATHJAX_TGZ) and retry"; exit 1)
	@rm -rf .cache/mathjax-src .cache/mathjax-html && mkdir -p .cache/mathjax-src .cache/mathjax-html/mathjax
	@tar -xzf $(MATHJAX_TGZ) -C .cache/mathjax-src
	@cd .cache/mathjax-src/package/es5 && cp -r tex-chtml.js input output ui a11y adaptors ../../../mathjax-html/mathjax/
	@cp .cache/mathjax-src/package/LICENSE .cache/mathjax-html/mathjax/
	@echo "MathJax $(MATHJAX_VERSION) ready in .cache/mathjax-html"

train: $(INSTALLED)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) scripts/train.py $(if $(EXP),$(EXP) --resume $(ARGS),--list)

# book/results.md, status.md and performance.md: tools/templates/*.md filled from the stored outputs.
pages: $(INSTALLED)
	$(PY) tools/nbtools.py pages

book: $(INSTALLED) $(MATHJAX) pages
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

# pytest exits with 5 when it collects nothing: for us that is a failure (a missing test
# directory or notebook), so it is reported as such rather than passed over.
unit: $(INSTALLED)
	@$(PY) -m pytest tests -q -p no:cacheprovider; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "ERROR: no unit tests were collected in tests/"; fi; exit $$rc

nbval: $(INSTALLED)
	@$(NBVAL); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "ERROR: no notebooks were collected in chapters/"; fi; exit $$rc

freshness: $(INSTALLED)
	$(PY) tools/nbtools.py check

# Headless Chromium from Debian (the browser test drives it with Playwright, no browser download).
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser test"; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

browser: $(INSTALLED) chromium
	$(PY) tools/browser_check.py --html _build/html --shots _build/screenshots

linkcheck: $(INSTALLED) $(MATHJAX) pages
	$(VENV)/bin/jupyter-book build . --builder linkcheck

# ruff lints and format-checks the package, tests, tools, benchmarks, scripts and notebooks.
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint unit nbval freshness book browser

# On a machine with a CUDA GPU: the unit tests with the device fixture on cpu and cuda, then
# every chapter's smoke profile on the GPU, one at a time, with its wall time.
gpu-check: $(INSTALLED)
	@$(PY) -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu-check: no CUDA GPU visible to torch')"
	MGN_TEST_DEVICES=cpu,cuda $(PY) -m pytest tests -q -p no:cacheprovider -x
	@for nb in chapters/[0-9][0-9]_*.ipynb; do \
	  start=$$SECONDS; \
	  MGN_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-current-env -q -p no:cacheprovider $$nb \
	    >/tmp/gpu-check-$$(basename $$nb .ipynb).log 2>&1; rc=$$?; \
	  printf "%-40s rc=%s %5d s\n" $$(basename $$nb) $$rc $$((SECONDS - start)); \
	  [ $$rc -eq 0 ] || { tail -30 /tmp/gpu-check-$$(basename $$nb .ipynb).log; exit $$rc; }; \
	done

# Without CHAPTER only the stale chapters run; JOBS of them at once, one thread each.
JOBS ?= 2
execute: $(INSTALLED)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/nbtools.py execute $(CHAPTER) -j $(JOBS)

stale: $(INSTALLED)
	@$(PY) tools/nbtools.py stale $(CHAPTER)

# Re-runs chapters (as long as `make execute`) without writing them; exit 1 on drift.
verify: $(INSTALLED)
	$(PY) tools/nbtools.py verify $(CHAPTER)

sync-url: $(INSTALLED)
	$(PY) tools/nbtools.py sync-url

clean:
	rm -rf _build .cache/mathjax-src
