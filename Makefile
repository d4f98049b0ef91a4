# Agora: `make run` starts the demo on SQLite with its two workers (mails, jobs), `make test` runs the whole suite.
# Everything the project needs is installed by these targets, from PyPI and the npm registry.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000

.PHONY: run test install-dev assets translations messages prod-up prod-down nginx redis

# The port also makes the links in mails (config.py's PUBLIC_URL): exported to the app.
run: export PORT := $(PORT)
run: $(VENV)/.runtime assets translations
	$(BIN)/alembic upgrade head
	$(FLASK) directory import --if-empty
	$(FLASK) demo load $(if $(PHASE),--phase $(PHASE))
	@echo "Agora écoute sur http://127.0.0.1:$(PORT) (les courriels s'affichent ici)."
	@$(FLASK) mail send --loop & mail=$$!; $(FLASK) jobs run --loop & jobs=$$!; \
		$(FLASK) reminders run --loop --interval 60 & reminders=$$!; \
		trap 'kill $$mail $$jobs $$reminders 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The production topology on this machine (scripts/prod.py): nginx on PROD_PORT (8080), two gunicorn
# instances, the workers, a PostgreSQL database and a Redis server of its own.
prod-up: $(VENV)/.runtime assets translations nginx redis
	$(BIN)/python scripts/prod.py up

prod-down:
	$(BIN)/python scripts/prod.py down

# Debian's nginx and Redis, installed when missing.
nginx:
	@command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null)

redis:
	@command -v redis-server >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)

test: install-dev assets translations
	$(BIN)/ruff check app tests scripts migrations bench config.py wsgi.py
	$(BIN)/pytest $(PYTEST_ARGS)

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.runtime: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e .
	touch $@

install-dev: $(VENV)/.dev
$(VENV)/.dev: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.runtime $@

assets: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Compile the catalogs (translations/<lang>/LC_MESSAGES/messages.po) into .mo files, which git ignores.
# French needs its own catalog for its plural rule (0 soutien, 2 soutiens); English is the translation.
translations: $(VENV)/.runtime
	@if [ -d translations ]; then $(BIN)/pybabel -q compile -d translations; fi

# Gettext keywords beyond Babel's defaults (_, gettext, ngettext, pgettext…): Flask-Babel's lazy forms.
# tests/test_translations.py reads this line, so that its extraction is exactly this one.
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2
# Babel skips folders starting with "_" unless told which to skip: templates/_macros has strings.
BABEL_IGNORE_DIRS := .* __pycache__ node_modules

# Extract every translatable string (French source) into translations/messages.pot, regenerate the
# French catalog from it and add the new strings to the English one: translate those (msgstr, and
# remove any "fuzzy" flag) in translations/en/LC_MESSAGES/messages.po, then `make translations`.
messages: $(VENV)/.runtime
	mkdir -p translations
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --ignore-dirs='$(BABEL_IGNORE_DIRS)' \
		--add-comments=Translators: --project=Agora --no-wrap -o translations/messages.pot .
	$(BIN)/python scripts/fill_source_catalog.py
	$(BIN)/pybabel -q update -d translations -l en -i translations/messages.pot --init-missing \
		--ignore-obsolete --no-wrap
