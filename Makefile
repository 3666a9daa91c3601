# Two commands on a fresh machine: `make up` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := $(VENV)/tools

.PHONY: up test install lint bench-ingest bench-notify clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# promtool, amtool and a real Alertmanager for the tests (Debian packages, unpacked, no daemons).
$(TOOLS)/.stamp:
	bash infra/scripts/fetch-tools.sh $(TOOLS)

up: $(STAMP)
	$(BIN)/lim up

test: $(STAMP) $(TOOLS)/.stamp
	PATH="$(CURDIR)/$(TOOLS)/usr/bin:$$PATH" $(BIN)/python -m tests.run

lint: $(STAMP)
	$(BIN)/ruff check .

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

bench-notify: $(STAMP)
	$(BIN)/python bench/notify.py

clean:
	rm -rf $(VENV) .lim
