# Two set-up commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := data/demo

.PHONY: demo test lint install fonts pango chromium java clean

$(BIN)/evalkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/evalkit fonts pango chromium

# Noto CJK for Chinese charts and reports; skipped where apt is not available.
fonts:
	@if [ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto | grep -q CJK; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
	  || echo "warning: could not install fonts-noto-cjk"; \
	else echo "note: install Noto Sans CJK (fonts-noto-cjk) for Chinese charts"; fi

# Pango: WeasyPrint's text layout, for PDF reports (`evalkit report --pdf`); best effort.
pango:
	@if ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) \
	  || echo "warning: could not install Pango (needed for --pdf only)"; \
	else echo "note: install Pango (libpango-1.0-0 libpangoft2-1.0-0) for PDF reports (evalkit report --pdf)"; fi

# Headless Chromium takes screenshots of rendered reports (tests, visual checks); best effort.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || command -v google-chrome >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium (needed for screenshots only)"; \
	else echo "note: install Chromium for report screenshots"; fi

# Java 17 for PySpark (`--engine spark`, tests/test_spark.py); best effort.
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	  || echo "warning: could not install openjdk-17-jre-headless (needed for --engine spark only)"; \
	else echo "note: install Java 17 (openjdk-17-jre-headless) for --engine spark"; fi

$(DEMO)/datapackage.json: | $(BIN)/evalkit
	$(BIN)/evalkit synth --households 20000 --regions 6 --periods 8 --seed 2026 --out $(DEMO) --overwrite

demo: install $(DEMO)/datapackage.json
	$(BIN)/evalkit validate $(DEMO)
	$(BIN)/evalkit indicators $(DEMO) --by hukou,urban --out reports/demo/indicators.csv
	@# The province (R00, the region without a parent) in the latest quarter, as one page and one PDF;
	@# prints the report's index.html last.
	$(BIN)/evalkit report $(DEMO) --region R00 --period 2024Q4 --pdf --out reports/demo

# the spark extra too: tests/test_spark.py checks Spark against DuckDB
test: install java
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	$(BIN)/python -m pytest -q

lint: $(BIN)/evalkit
	$(BIN)/ruff check evalkit tests bench notebooks

clean:
	rm -rf $(VENV) $(DEMO) reports/demo
