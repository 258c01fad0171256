# Two commands on a fresh machine with Python 3.11+:  make demo  |  make test
# Both create .venv in the repo root and install the core, the SDK and every plugin under plugins/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
SDK := $(if $(wildcard sdk/pyproject.toml),sdk,)
STAMP := $(VENV)/.installed
# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build
TORCH ?= torch==2.13.0

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml $(wildcard sdk/pyproject.toml) $(wildcard plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip "setuptools>=68" wheel
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[onnx,test]" $(if $(SDK),-e $(SDK)) $(foreach p,$(PLUGINS),-e $(p))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/had demo --out demo-out

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/had bench --detectors rx --datasets synthetic-scene,sandiego_plane,hydice,abu-beach-4,abu-urban-2 --out results/rx

clean:
	rm -rf $(VENV) demo-out results
