# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The project with its dev extra (make run, make test), and its runtime part alone (deploy/Dockerfile).
LOCK := requirements/lock.txt
RUNTIME_LOCK := requirements/runtime.txt
# The lock tool, in a virtualenv of its own.
UV_VERSION := 0.13.9
TOOLS := $(VENV)/lock-tool
UV := $(TOOLS)/bin/uv
# Two processes, one file each at a time (a file's tests share its fixtures and browser).
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run test bench soak schema lint clean-data venv lock

venv: $(STAMP)

# Every dependency from the lock, each checked against its hash; then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-resolves the locks from pyproject.toml: every pin moves to the newest release within its
# bounds. `make lock LOCK_UPGRADE=` keeps the current pins and only adds what is new.
LOCK_UPGRADE ?= --upgrade
LOCK_TARGET := --generate-hashes --python-version 3.11 --python-platform linux
lock: $(UV)
	$(UV) pip compile --quiet pyproject.toml --extra dev $(LOCK_TARGET) $(LOCK_UPGRADE) -o $(LOCK)
	$(UV) pip compile --quiet pyproject.toml -c $(LOCK) $(LOCK_TARGET) -o $(RUNTIME_LOCK)

$(UV):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

run: $(STAMP)
	@test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || echo "share posters: Chinese text needs fonts-wqy-microhei (apt-get install fonts-wqy-microhei); drawn without it meanwhile"
	$(BIN)/groupbuy run

# pytest's exit code 5 (no test collected) is a failure too.
# Lint and type checks first: CI runs `make test` alone.
test: $(STAMP) lint
	$(BIN)/python -m tests.system_deps
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no test: failing"; exit 1; fi; exit $$rc

# The reliability suite with heavier loads, more faults and more generated requests.
soak: $(STAMP)
	GROUPBUY_SOAK=1 $(BIN)/python -m pytest tests/reliability $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.shortage
	$(BIN)/python -m bench.pintuan
	$(BIN)/python -m bench.coupons --runs 3 --seconds 6
	$(BIN)/python -m bench.ledger_release
	$(BIN)/python -m bench.first_screen --runs 3

schema: $(STAMP)
	$(BIN)/groupbuy schema > schema.graphql

lint: $(STAMP)
	$(BIN)/ruff check service tests migrations
	$(BIN)/mypy

clean-data:
	rm -rf .data

# The invariants on a real Citus cluster (coordinator + 2 workers from the embedded server), not
# part of `make test`: builds Citus from ../shared/vendor the first time (cached in ~/.cache).
.PHONY: test-citus
test-citus: $(STAMP)
	deploy/citus/build.sh
	GROUPBUY_CITUS_TESTS=1 $(BIN)/python -m pytest tests/citus -n 0 -p no:cacheprovider --timeout 900 -rA

# The single node beside a Citus coordinator with two workers, in one run (bench/README.md):
# not part of `make bench`.
.PHONY: bench-citus
bench-citus: $(STAMP)
	$(BIN)/python -m bench.citus --runs 3 --seconds 6
