# The two commands of the README. Both set up .venv from nothing; `make run` then serves,
# `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# The case-store tests run on SQLite and, in the same run, on this PostgreSQL.
TRIAGE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TRIAGE_TEST_POSTGRES_URL
BENCHMARKS := classify classify_levers routing drafting quality cases topics load_knee

.PHONY: install run test lint bench browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, the local CPU build: a plain requirement would pull a CUDA build of several GB.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/triage bootstrap
	$(BIN)/triage serve

# Debian's chromium for the staff page's browser tests (and a CJK font for its screenshots);
# never a browser download.
browser:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/truetype/wqy || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null)

test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark in turn (long: drafting and topics take several minutes each); each rewrites
# its own section of docs/benchmarks.md.
bench: install
	for b in $(BENCHMARKS); do OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.$$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
