# make run  — set everything up and start the watcher on var/inbox → var/outbox
# make test — set everything up and run the whole suite
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3
# Debian packages the appliance and its tests use: libmagic (type detection), bubblewrap
# and libseccomp (the sandbox), qpdf and poppler (PDF floor and rendering checks),
# Tesseract with Japanese (OCR layer), LibreOffice without GUI (legacy Office/RTF
# conversion), systemd (systemd-analyze verify), CJK fonts (rendering Japanese pages),
# python3-venv (`python3 -m venv` needs its ensurepip; a minimal Debian has python3 without it),
# gettext (msgfmt: `make locale` and the test that the shipped .mo matches its .po).
# chromium and its chromedriver: the web console's tests drive a real headless browser (tests/browser.py).
APT_PACKAGES := python3-venv gettext libmagic1 bubblewrap libseccomp2 qpdf poppler-utils tesseract-ocr \
	tesseract-ocr-jpn tesseract-ocr-eng libreoffice-writer-nogui libreoffice-calc-nogui \
	libreoffice-impress-nogui systemd fonts-noto-cjk libarchive13 chromium chromium-driver

.PHONY: run test system venv lint bench install clean fuzz locale

system:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "missing Debian packages (run as root or: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# var/inbox/soumu: an example department folder, so the README's quick start works as written.
# The web console runs beside the watcher on loopback (it prints its address, and how to make
# the first administrator while there is none) and is stopped when the watcher stops.
CONSOLE ?= 127.0.0.1:8765
run: system venv
	mkdir -p var/inbox/soumu var/outbox var/spool var/log quarantine
	@$(PY) cli.py console --listen $(CONSOLE) & console=$$!; \
	trap 'kill $$console 2>/dev/null; wait $$console' EXIT INT TERM; \
	$(PY) cli.py watch

lint: venv
	$(VENV)/bin/ruff check .

test: system venv lint
	$(PY) -m pytest -q

# long mutation fuzzing through the CLI (tests/test_fuzz.py); the bounded pass is part of `make test`
fuzz: system venv
	CDR_FUZZ_EXAMPLES=$${CDR_FUZZ_EXAMPLES:-2000} $(PY) -m pytest -q -s tests/test_fuzz.py

# the Japanese messages: edit cdr/locale/ja/LC_MESSAGES/cdr.po, then compile the .mo that is shipped
locale:
	msgfmt --check -o cdr/locale/ja/LC_MESSAGES/cdr.mo cdr/locale/ja/LC_MESSAGES/cdr.po

bench: system venv
	$(PY) bench/run.py

# builds its own venv in /opt/cdr/venv from /usr/bin/python3 (the checkout's .venv is not used);
# CONTACT="総務課 情報係（内線 123）" and WHEELS=DIR reach it through the environment
install: system
	sh systemd/install.sh

clean:
	rm -rf var/spool var/outbox var/inbox var/log .pytest_cache
