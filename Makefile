# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   install, generate the booking example, start it, follow one booking
#   make test   install, lint, type-check and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install services demo test lint golden bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/apigen lint specs/booking.yaml
	$(BIN)/apigen generate specs/booking.yaml --out examples/booking
	$(BIN)/apigen check specs/booking.yaml --out examples/booking
	$(BIN)/python examples/booking/demo.py

# redis-server, for the test of the event bus across replicas: from Debian's packages when
# missing and we may install them (root with apt-get); otherwise that one test says it is skipped.
services:
	@command -v redis-server >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } \
		|| echo "redis-server is not installed: the Redis event-bus test will be skipped"

lint: install
	$(BIN)/ruff check generator tests benchmarks examples
	$(BIN)/ruff format --check generator tests benchmarks examples
	$(BIN)/mypy generator
	MYPYPATH=examples/booking/src $(BIN)/mypy -p booking

test: lint services
	$(BIN)/pytest

# Refresh the golden contracts after an intended change, then review `git diff tests/golden`.
golden: install
	APIGEN_REFRESH_GOLDEN=1 $(BIN)/pytest tests/test_golden.py

bench: install
	$(BIN)/python benchmarks/generate.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
