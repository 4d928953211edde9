# fairpatrol: `make demo` sets everything up and runs the Baltimore study; `make test` runs ruff, mypy (the
# type check of src/fairpatrol, configured in pyproject.toml) and the test suite.
# Both install exactly the versions of requirements/lock.txt (hashes checked); `make lock` regenerates it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements/lock.txt
# The lock is resolved by uv (pinned here) for every platform and Python >= 3.11 at once.
UV_VERSION := 0.13.9
TOOLS  := .venv-tools

.PHONY: setup demo test lint bench clean chromium lock

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $(STAMP)

setup: $(STAMP)

# Re-resolve the lock from pyproject.toml (dependencies and the test extra) and requirements/build.in.
lock:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)
	$(TOOLS)/bin/uv pip compile pyproject.toml requirements/build.in --extra test --universal \
	  --python-version 3.11 --fork-strategy fewest --generate-hashes --quiet -o $(LOCK)

demo: setup
	$(BIN)/fairpatrol run --preset baltimore-agg --out results/baltimore-agg --overwrite
	$(BIN)/fairpatrol report results/baltimore-agg -o results/baltimore-agg/report.html

# Browser tests drive Debian's chromium headless (never a downloaded browser); installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: setup chromium
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(TOOLS) results .pytest_cache
