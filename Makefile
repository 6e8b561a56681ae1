# Tandem: `make run` serves the app, `make test` runs the whole suite. Both bootstrap .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ASSETS := web/static/vendor/htmx.min.js

.PHONY: run test lint typecheck bench bench-crm clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) 2>/dev/null || \
		($(PY) -m pip install --user --quiet virtualenv && $(PY) -m virtualenv --quiet $(VENV))
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# Front-end libraries come from npm (package-lock.json) and are copied into web/static/vendor.
$(ASSETS): package.json package-lock.json web/build-assets.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build

run: $(STAMP) $(ASSETS)
	$(BIN)/tandem run

test: $(STAMP) $(ASSETS)
	$(BIN)/python -m tests.browser_setup
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m tests.perf $(BENCH_ARGS)

# CRM at the issue's volumes (1M contacts): seeds its own embedded database, ~10 minutes; BENCH_ARGS=--scale 0.1
bench-crm: $(STAMP)
	$(BIN)/python -m tests.perf.crm $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Message catalogs: refresh web/translations/messages.pot from the sources and registries, merge it into
# the ko/ja/ru .po files (translations kept) and list what still needs translating.
.PHONY: i18n
i18n: $(STAMP)
	$(BIN)/python -m web.i18n_extract
