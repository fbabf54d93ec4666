# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# Test files spread over this many processes (pytest-xdist), each file whole in one, so a module's
# server, browser and seeded data are set up once: two more than the cores, because many tests
# wait (on a server, a browser, a memcached node's timeout, nginx dropping a stalled client) and
# spare workers keep the cores busy meanwhile (2 cores: 228 s with 3 workers, 205 s with 4). pytest
# exits non-zero (5) when it collects no test, and make stops on it: neither tier can pass by
# running nothing.
# Tests may keep compiled modules (git ignores __pycache__): with PYTHONDONTWRITEBYTECODE set, as some
# environments do, every worker and every server the tests start compiled the app and pytest's
# rewritten test modules again (7 s of each worker's 10 s start, 3 s once they are kept).
unexport PYTHONDONTWRITEBYTECODE
TEST_JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) + 2 )))
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder

.PHONY: run dev test check lint format bench docs clean fuzz wheelhouse lambda-package

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## run: start the app on embedded defaults (local files, SQLite, in-process cache, local model)
# waitress (serve.py) faces clients itself: slow ones hold no thread. gunicorn is for behind nginx.
run: $(VENV)/.runtime
	@echo "Cloud Image Gallery on http://$(HOST):$(PORT)/"
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python serve.py

## dev: Flask's reloading development server with the debugger (never expose it)
dev: $(VENV)/.runtime
	FLASK_DEBUG=1 $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

## test: lint, format check and the whole test suite (what CI runs)
test: lint
	$(PYTEST)

## check: the fast tier for the edit loop: lint and every test that needs no browser, server process or cloud emulator, but the fuzzing
check: lint
	$(PYTEST) -m "not browser and not server and not cloud and not fuzz"

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: every benchmark, each printing side-by-side ratios
bench: $(VENV)/.dev
	for b in bench/*.py; do [ "$$b" = bench/lambda_package.py ] || $(BIN)/python $$b || exit 1; done

## wheelhouse: download every wheel the Lambda package pins (cp312 manylinux) into wheelhouse/: the one step that uses the package index
wheelhouse: $(VENV)/.dev
	$(BIN)/python bench/lambda_package.py --download

## lambda-package: build artifacts/lambda/production.zip from wheelhouse/ alone (no network) and report its size vs the 250 MB limit
# Order-only on the venv: a changed requirements file must not send this step to the index.
lambda-package: | $(BIN)/python
	$(BIN)/python bench/lambda_package.py

## fuzz: the full Schemathesis run against /api/openapi.json (make test runs a quick one)
fuzz: $(VENV)/.dev
	GALLERY_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest -q -s tests/test_api_fuzz.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

## docs: regenerate the README's configuration table from app/config.py
docs: $(VENV)/.runtime
	$(BIN)/python -c "import re, pathlib; from app.settings_table import markdown_table as t; p = pathlib.Path('README.md'); s = p.read_text(); p.write_text(re.sub(r'(<!-- config-table:start -->).*(<!-- config-table:end -->)', lambda m: m.group(1) + '\n' + t() + '\n' + m.group(2), s, flags=re.S))"
