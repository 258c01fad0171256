# Two commands on a fresh machine with Python 3.11+:  make demo  |  make test
# Both create .venv in the repo root and install the core (with its plots extra), the SDK (with its export extra)
# and every plugin under plugins/.  `make wheels` builds every distribution into dist/ (no torch needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
SDK := $(if $(wildcard sdk/pyproject.toml),./sdk,)
STAMP := $(VENV)/.installed
# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build. The CPU build comes from the
# machine's pip configuration (a local wheel folder); on a plain PyPI give PyTorch's CPU index:
#   make demo TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu
TORCH ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: install demo test bench wheels wheel-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools>=77" wheel

$(STAMP): pyproject.toml $(wildcard sdk/pyproject.toml) $(wildcard plugins/*/pyproject.toml) | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade "setuptools>=77" wheel
	$(BIN)/python -m pip install -q "$(TORCH)" $(TORCH_INDEX)
	$(BIN)/python -m pip install -q -e ".[onnx,plots,test]" $(if $(SDK),-e "$(SDK)[export]") $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/had demo --out demo-out

# the suite in TEST_WORKERS processes (pytest-xdist; a file's tests stay in one process, so its fixtures are built
# once), each torch on one thread unless OMP_NUM_THREADS says otherwise: on a 2-core machine two processes took 791 s
# where one took 1363 s (6 December 2026). `make test TEST_WORKERS=0` runs it in this process; `=auto`, one per core.
TEST_WORKERS ?= 2
test: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	$(BIN)/had bench --detectors rx --datasets synthetic-scene,sandiego_plane,hydice,abu-beach-4,abu-urban-2 --out results/rx --overwrite

# every distribution as a wheel in dist/, so `pip install --find-links dist had-plugin-lren` can be tried
# before publication (tests/test_wheels.py does it in a fresh venv with HAD_WHEEL_TEST=1: make wheel-test)
wheels: | $(BIN)/python
	rm -rf dist
	$(BIN)/python -m pip install -q --upgrade "setuptools>=77" wheel
	$(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w dist . $(SDK) $(PLUGINS)
	ls dist

wheel-test: wheels $(STAMP)
	HAD_WHEEL_TEST=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_wheels.py

clean:
	rm -rf $(VENV) demo-out results dist
