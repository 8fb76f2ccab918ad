# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WZ     := $(VENV)/bin/webzine
ISSUE  ?= issues/2026-12-year-end.md

.PHONY: demo test bench install system-deps clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(WZ) build $(ISSUE)

system-deps:
	bash .ci/system-deps.sh

test: $(VENV)/.installed-test system-deps
	$(PY) -m pytest -q

bench: $(VENV)/.installed-test system-deps
	$(PY) bench/run.py

clean:
	rm -rf build outbox site state .pytest_cache
