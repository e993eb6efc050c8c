# Two commands: `make run` and `make test`. Everything else here serves those two.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RELAY := build/native/librelay.so
FANOUT := build/native/libfanout.so
ACD := build/mypyc/manifest.json
NATIVE := $(RELAY) $(FANOUT) $(ACD)

.PHONY: run test lint unit debs venv bench clean

run: debs $(STAMP) $(NATIVE)
	$(BIN)/callcenter serve

test: debs $(STAMP) $(NATIVE)
	@bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

debs:
	@bash scripts/ensure-debs.sh

venv: $(STAMP) $(NATIVE)

# The media engine's native relay (docs/media.md); without gcc the engine relays in Python.
$(RELAY): src/callcenter/media/native/relay.c
	@mkdir -p $(@D)
	@if command -v gcc >/dev/null; then gcc -O2 -Wall -shared -fPIC -o $@.tmp $< -lpthread && mv $@.tmp $@; \
	else echo "gcc not found: the media relay runs in Python"; fi

# The event stream's native fan-out (callcenter/native); without gcc the hub writes in Python.
$(FANOUT): src/callcenter/native/fanout.c
	@mkdir -p $(@D)
	@if command -v gcc >/dev/null; then gcc -O2 -Wall -Wextra -shared -fPIC -o $@.tmp $< -lpthread && mv $@.tmp $@; \
	else echo "gcc not found: the event fan-out runs in Python"; fi

# The ACD core compiled with mypyc (docs/acd.md); if it cannot be built, it runs interpreted.
$(ACD): $(STAMP) $(wildcard src/callcenter/acd/*.py) scripts/build-acd.sh
	@bash scripts/build-acd.sh $(BIN)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

bench: debs $(STAMP) $(NATIVE)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
