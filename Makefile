# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WZ     := $(VENV)/bin/webzine
ISSUE  ?= issues/2026-12-year-end.md

.PHONY: demo test test-fast bench install system-deps clean catalogs

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The demo's secrets are throw-away values for the local outbox; a real send takes them from the
# environment (CI secrets). The sample key-customer list has one gap on purpose: the audit shows it,
# and the demo sends with the reason recorded in the ledger. Run it twice: nobody gets two copies.
DEMO_SECRET := demo-only-unsubscribe-secret
# The demo rehearses the sample December 2026 issue as of its own date, so it gives the same result
# on any day (the sample consents would otherwise age past the two-year limit).
DEMO_TODAY  := 2026-12-01
DEMO_GAPS   := 데모: 박혜진 님 주소 오타(example.con)는 정다솔 팀장이 확인 중

demo: $(VENV)/.installed
	$(WZ) --today $(DEMO_TODAY) customers score  # the sample orders, scored as of the sample issue's date
	$(WZ) --today $(DEMO_TODAY) build $(ISSUE)
	-$(WZ) --today $(DEMO_TODAY) audit $(ISSUE)
	@mkdir -p state
	@test -s state/demo-dkim.pem || $(PY) -c "from cryptography.hazmat.primitives.asymmetric import rsa; \
	from cryptography.hazmat.primitives import serialization as s; \
	k = rsa.generate_private_key(public_exponent=65537, key_size=2048); \
	open('state/demo-dkim.pem', 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))"
	WEBZINE_UNSUBSCRIBE_SECRET=$(DEMO_SECRET) WEBZINE_DKIM_PRIVATE_KEY="$$(cat state/demo-dkim.pem)" \
	  $(WZ) --today $(DEMO_TODAY) send $(ISSUE) --yes --allow-gaps "$(DEMO_GAPS)"
	WEBZINE_DKIM_PRIVATE_KEY="$$(cat state/demo-dkim.pem)" $(WZ) --today $(DEMO_TODAY) digest send $(ISSUE) --yes
	$(WZ) --today $(DEMO_TODAY) digest write $(ISSUE)
	$(WZ) --today $(DEMO_TODAY) report $(ISSUE)
	@echo "Outbox: outbox/ (a Maildir any mail client opens; the account managers' digests are in it too)"
	@echo "Preview: build/2026-12-year-end/preview.html; report: build/2026-12-year-end/report.html"
	@echo "Digests as files: build/digests/2026-12-year-end/ (one HTML and CSV per manager, all.csv)"

# The Korean message catalogs (webzine/locale/ko/LC_MESSAGES/<package>.po, one per stage package):
# extracts every marked message, keeps the translations, drops what left the source, compiles the .mo
# files and names each catalog with messages still to translate (tests/test_catalogs.py fails on them).
catalogs: $(VENV)/.installed-test
	$(PY) tests/catalogkit.py

system-deps:
	bash .ci/system-deps.sh

# Every test, several at a time: most of them wait on servers and subprocesses, not on a core, so
# more workers than cores pays. Tests that share one server or database carry an xdist_group mark
# and run in one worker (--dist loadgroup).
TEST_WORKERS ?= 4
test: $(VENV)/.installed-test system-deps
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# The inner loop: everything not marked slow (see the marker in pyproject.toml), one worker per core;
# a module whose fixture is costly keeps to one worker (its xdist_group).
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow" -n auto --dist loadgroup

bench: $(VENV)/.installed-test system-deps
	$(PY) bench/run.py

clean:
	rm -rf build outbox site state .pytest_cache
