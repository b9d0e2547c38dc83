# Soragate: every target installs what it needs into .venv first (once; re-run when pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CONFIG ?= hw_configs/loopback.yaml
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba_cache
export SORAGATE_CACHE_DIR ?= $(CURDIR)/.venv/soragate_cache

.PHONY: all install run test validate bench lint clean help

help:
	@echo "make run       install, then run the pass demo: gateway, relay emulator, 2 tracking handsets ($(CONFIG))"
	@echo "make test      install, then run the test suite"
	@echo "make validate  long statistical sweeps (BLER / detection curves)"
	@echo "make bench     real-time factors and throughputs"
	@echo "make lint      ruff"

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@bash tools/install_soapysdr.sh || true
	@$(PY) tools/link_soapysdr.py || true
	@touch $(STAMP)

install: $(STAMP)

# Ray for `transmit --beams --cluster ray` and its test (make validate): ~240 MB, so not part of make test
$(VENV)/.installed-cluster: $(STAMP)
	$(PY) -m pip install -q -e '.[cluster]'
	@touch $@

run: $(STAMP)
	$(PY) -m gateway run --config $(CONFIG)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2 --timeout=600

validate: $(STAMP) $(VENV)/.installed-cluster
	$(PY) -m pytest -q -m slow -s -n 2 --timeout=3600

bench: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check gateway phy mac radio_drivers channel orbit dsp tests bench tools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .benchmarks
