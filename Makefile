# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Two processes, one file each at a time (a file's tests share its fixtures and browser).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test bench soak schema lint clean-data venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/groupbuy run

# pytest's exit code 5 (no test collected) is a failure too.
test: $(STAMP)
	$(BIN)/python -m tests.system_deps
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no test: failing"; exit 1; fi; exit $$rc

# The reliability suite with heavier loads, more faults and more generated requests.
soak: $(STAMP)
	GROUPBUY_SOAK=1 $(BIN)/python -m pytest tests/reliability $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

schema: $(STAMP)
	$(BIN)/groupbuy schema > schema.graphql

lint: $(STAMP)
	$(BIN)/ruff check service tests migrations

clean-data:
	rm -rf .data
