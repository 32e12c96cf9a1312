# The two commands of the README. Both set up .venv from nothing; `make run` then serves,
# `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
# Two install levels: `run` needs only the service (no torch); `test` adds the test tools and the
# optional encoder extra (sentence-transformers on torch's CPU build), so the encoder tests run.
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
TEST_STAMP := $(VENV)/.installed-test-$(HASH)

.PHONY: install install-test run test lint bench browser clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	rm -f $(VENV)/.installed-run-*
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP)
	# torch first, the local CPU build: a plain requirement would pull a CUDA build of several GB.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test,encoder]"
	rm -f $(VENV)/.installed-test-*
	touch $(TEST_STAMP)

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

run: install
	$(BIN)/triage bootstrap
	$(BIN)/triage serve --worker

# Debian's chromium for the staff page's browser tests (and a CJK font for its screenshots);
# never a browser download.
browser:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/truetype/wqy || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

test: install-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark in turn (long: drafting, topics and the rebuild take many minutes each); each
# rewrites its own section of docs/benchmarks.md.
BENCHMARKS := classify classify_levers routing_levers_cv admin_routing routing_encoder backlog routing \
  urgent out_of_scope_cues drafting draft_sources house_style quality cases topics load_knee \
  throughput catch_up rebuild
bench: install-test
	for b in $(BENCHMARKS); do OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.$$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
