# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export LISTD_CONFIG ?= conf/listd.yaml

.PHONY: install run test lint bench wheel wheel-smoke clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/listd db upgrade
	$(BIN)/listd serve

test: install
	$(BIN)/ruff check listd tests bench migrations
	$(BIN)/mypy listd
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check listd tests bench migrations
	$(BIN)/mypy listd

# dist/listd-VERSION-py3-none-any.whl: migrations, list templates and texts are inside it.
wheel: install
	$(BIN)/python -m build --wheel --outdir dist .

# The wheel in a fresh venv, run from another directory (what .ci/run does).
wheel-smoke: install
	PYTHON=$(BIN)/python .ci/wheel-smoke

bench: install
	$(BIN)/python bench/listener.py

clean:
	rm -rf $(VENV) var *.egg-info build dist
