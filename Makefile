# sessionlint: developer entry points.
#
#   make demo    set up .venv, lint the sample apps (every unsafe arm flagged, every
#                safe arm clean), then stress both arms on SQLite side by side
#   make test    set up .venv, then run the whole test suite (what .ci/run runs)
#
# `make` alone prints this help. Both targets create .venv themselves (once; again
# only when pyproject.toml or setup.py change), so from a fresh clone they are all
# a new user needs.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SESSIONLINT := $(BIN)/sessionlint

# Extra pytest arguments, e.g. make test PYTEST_ARGS='-q -m "not slow"'
PYTEST_ARGS ?= -q

# Databases for the harness tests (not used by the linter tests). Set them in the
# environment to point elsewhere.
SESSIONLINT_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SESSIONLINT_TEST_MARIADB_URL ?= mysql+pymysql://root@127.0.0.1:3306/test

.PHONY: help venv demo test lint clean docs fuzz bench

help:
	@echo "sessionlint make targets:"
	@echo "  make demo    lint the sample apps, then stress both arms of each on SQLite"
	@echo "  make test    run the whole test suite (the same command CI runs: .ci/run)"
	@echo "  make lint    run sessionlint on this repository (minus LINT_EXCLUDE: files bad on purpose)"
	@echo "  make venv    create $(VENV) and install sessionlint[test] in it (demo/test do this)"
	@echo "  make docs    regenerate docs/rules/ from the rules' docstrings (a test fails when they are stale)"
	@echo "  make fuzz    long fuzz run of the linter and --fix (SESSIONLINT_FUZZ_EXAMPLES=$(SESSIONLINT_FUZZ_EXAMPLES) per test)"
	@echo "  make bench   lint speed vs ruff/semgrep/Fixit and the harness figures -> docs/performance.md (BENCH_QUICK=1: fast subset)"
	@echo "  make clean   remove $(VENV), caches and build output"
	@echo "Variables: PYTHON=$(PYTHON)  PYTEST_ARGS='$(PYTEST_ARGS)'"

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
	  || { echo "sessionlint needs Python >= 3.10; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) \
	  || { echo "'$(PYTHON) -m venv' failed; on Debian/Ubuntu install python3-venv first" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@
	@echo "$(VENV) is ready: $$($(BIN)/python -V), $$($(SESSIONLINT) --version)"

# Each sample app has an unsafe and a safe arm. The arms' files are named
# explicitly: files named on the command line are linted whatever the exclude
# settings say (an excluded *directory* would be skipped), so no configuration can
# hide an arm. Exit status 1 ("findings") is the expected result for an unsafe arm.
# Every rule is selected, the opt-in SL015 (lost update) included: the lost-update
# pair is the control whose unsafe arm only SL015 flags.
demo: venv
	@status=0; apps=0; summary=""; \
	for dir in sample_apps/*/; do \
	  app=$${dir%/}; \
	  [[ -d $$app/unsafe && -d $$app/safe ]] || continue; \
	  apps=$$((apps + 1)); name=$${app#sample_apps/}; \
	  for arm in unsafe safe; do \
	    if [[ $$arm == unsafe ]]; then want=1; else want=0; fi; \
	    echo; echo "=== $$name / $$arm arm ($$( ((want)) && echo 'expected: findings' || echo 'expected: clean'))"; \
	    mapfile -t files < <(find "$$app/$$arm" -name '*.py' | sort); \
	    rc=0; $(SESSIONLINT) check --no-cache --select ALL --show-source "$${files[@]}" || rc=$$?; \
	    if [[ $$rc == 1 ]]; then \
	      rules=$$($(SESSIONLINT) check --no-cache --select ALL --statistics "$${files[@]}" | awk -F'\t' '{printf "%s%s %s x%s", sep, $$2, $$3, $$1; sep=", "}' || true); \
	      result="flagged ($$rules)"; \
	    elif [[ $$rc == 0 ]]; then result="clean"; \
	    else result="error (exit $$rc)"; fi; \
	    if [[ $$rc == $$want ]]; then mark="ok  "; else mark="FAIL"; status=1; fi; \
	    summary+="  $$mark $$name/$$arm: $$result"$$'\n'; \
	  done; \
	done; \
	if (( apps == 0 )); then echo "no sample apps with unsafe/ and safe/ arms found under sample_apps/" >&2; exit 1; fi; \
	echo; echo "=== summary: unsafe arms must be flagged, safe arms must be clean"; printf '%s' "$$summary"; \
	if (( status )); then echo "lint demo FAILED: an arm did not come out as expected" >&2; exit 1; fi; \
	echo "lint demo passed"; echo; \
	echo "=== stress: both arms side by side on SQLite (staged interleavings; exit 0 = every unsafe arm fails, every safe arm is clean)"; \
	$(SESSIONLINT) stress
	@echo "demo passed"

# pytest exits 5 when it collected no tests: that is a failure too.
test: export SESSIONLINT_TEST_POSTGRES_URL := $(SESSIONLINT_TEST_POSTGRES_URL)
test: export SESSIONLINT_TEST_MARIADB_URL := $(SESSIONLINT_TEST_MARIADB_URL)
test: venv
	@echo "$$($(BIN)/python -V), $$($(SESSIONLINT) --version); databases: $$SESSIONLINT_TEST_POSTGRES_URL $$SESSIONLINT_TEST_MARIADB_URL"
	@echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc == 5 ]]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$rc

# Files that are bad on purpose: the rule fixtures and the sample apps' unsafe arms.
LINT_EXCLUDE ?= tests/fixtures,sample_apps/*/unsafe,tests/apps/*_buggy

lint: venv
	$(SESSIONLINT) check --extend-exclude '$(LINT_EXCLUDE)' .

# docs/rules/SL0NN.md and docs/rules/README.md come from the rule docstrings;
# tests/test_docs.py fails when the committed pages are stale.
docs: venv
	$(BIN)/python -m sessionlint.lint_rules.docs

# The fuzz tests run a few hundred examples in `make test`; this runs many more.
SESSIONLINT_FUZZ_EXAMPLES ?= 10000
fuzz: export SESSIONLINT_FUZZ_EXAMPLES := $(SESSIONLINT_FUZZ_EXAMPLES)
fuzz: venv
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py --hypothesis-show-statistics

# Performance figures of issue 6 (bench/run.py). The comparison tools go into
# bench/.venv-tools and bench/.venv-fixit, the corpus into bench/.corpus (all made
# on first use, gitignored). BENCH_QUICK=1: one run each, Fixit on a subset, one
# stress scenario; printed only, docs/performance.md is left alone.
# BENCH_PATHS='dir1 dir2': extra directories for the corpus. BENCH_RUNS: runs per
# lint command (median).
BENCH_RUNS ?= 3
BENCH_PATHS ?=
BENCH_QUICK ?=
BENCH_OUT ?= $(if $(BENCH_QUICK),,docs/performance.md)

bench: venv
	$(BIN)/python bench/run.py --runs $(BENCH_RUNS) $(if $(BENCH_QUICK),--quick) \
	  $(if $(strip $(BENCH_PATHS)),--path '$(BENCH_PATHS)') $(if $(BENCH_OUT),--markdown $(BENCH_OUT))

clean:
	rm -rf $(VENV) build dist ./*.egg-info .sessionlint_cache .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
