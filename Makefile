# recbook: build the book, run every check, open the notebooks.
#
#   make book   install (first time only), then build the HTML book into _build/html/index.html
#   make test   install (Chromium too, as root), then unit tests + nbval over every chapter + the browser check
#   make lab    install, then JupyterLab on book/
#   make clean  remove _build/
#
# Everything lives in a local virtual environment, .venv/, created from pyproject.toml.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Extra pip arguments for the torch install, e.g. a CPU-wheel index on a machine whose pip does not
# already find one:  make book TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=

# Use the kernels and config of .venv, never ones from the user's home directory.
export JUPYTER_PREFER_ENV_PATH := 1
# Notebooks draw with the inline backend; an inherited MPLBACKEND=Agg would drop every figure from
# the outputs that nbval compares against.
unexport MPLBACKEND
export PYDEVD_DISABLE_FILE_VALIDATION := 1

JB_BUILD := $(BIN)/jupyter-book build . --all -W -n --keep-going

.PHONY: help install browser book test test-unit test-notebooks test-browser lab clean

help:
	@sed -n '3,7p' Makefile | sed 's/^# *//'

install: $(STAMP)

# The stamp is rebuilt only when pyproject.toml changes: a second `make` does nothing.
# torch goes first and pinned: an unpinned torch pulls a multi-GB CUDA build.
# The kernel the notebooks name ("python3") is registered inside .venv, pointing at its Python.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(TORCH_PIP_ARGS) "torch==2.13.0"
	$(BIN)/python -m pip install -e ".[book,test,ray]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	touch $@

book: $(STAMP)
	$(JB_BUILD)
	@echo "open _build/html/index.html"

# The browser test drives Debian's Chromium (Playwright never downloads a browser). As root with apt-get,
# install it; otherwise say in one line what to run.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	    echo "make test needs Chromium at $(CHROMIUM): run 'sudo apt-get install chromium chromium-driver' (or 'make test-unit test-notebooks' without the browser check)"; \
	    exit 1; \
	fi

# Parallel test workers (pytest-xdist). --dist loadfile keeps each file, so each notebook's cells, in one worker.
TEST_JOBS ?= 2

# One pytest run: unit tests, nbval over every chapter (strict output comparison; executed with
# cwd = book/ in this venv's kernel), and the browser test (which builds the book itself).
test: $(STAMP) browser
	$(BIN)/python -m pytest tests book -n $(TEST_JOBS) --dist loadfile \
	    --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# The same three parts one at a time, for working on one of them.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser"

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

test-browser: $(STAMP) browser
	$(BIN)/python -m pytest tests/test_book_browser.py

# JupyterLab refuses to start as root (containers, CI machines) unless told --allow-root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Extra JupyterLab arguments, e.g. make lab LAB_ARGS="--no-browser --port=8890"
LAB_ARGS ?=

lab: $(STAMP)
	$(BIN)/jupyter lab book/ $(ROOT_ARGS) $(LAB_ARGS)

clean:
	rm -rf _build
