# Agora: `make run` starts the demo on SQLite, `make test` runs the whole suite.
# Everything the project needs is installed by these targets, from PyPI and the npm registry.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000

.PHONY: run test install-dev assets translations messages

run: $(VENV)/.runtime assets translations
	$(BIN)/alembic upgrade head
	$(FLASK) directory import --if-empty
	$(FLASK) demo load $(if $(PHASE),--phase $(PHASE))
	@echo "Agora écoute sur http://127.0.0.1:$(PORT) (les courriels s'affichent ici)."
	@$(FLASK) mail send --loop & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-dev assets translations
	$(BIN)/ruff check app tests migrations bench config.py wsgi.py
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

translations: $(VENV)/.runtime
	@if [ -d translations ]; then $(BIN)/pybabel compile -q -d translations; fi

# Extract every translatable string (French source) into translations/messages.pot.
messages: $(VENV)/.runtime
	mkdir -p translations
	$(BIN)/pybabel extract -q -F babel.cfg -k _l -o translations/messages.pot .
