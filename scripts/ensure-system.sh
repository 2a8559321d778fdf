#!/usr/bin/env bash
# Install and start what the tests need, only where it is missing: Debian's Chromium for the
# browser walks, and PostgreSQL at 127.0.0.1:5432 (database `test`, trust auth).
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-system: installing Debian's chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

# Dovecot's IMAP server: the tests start their own, on a free port with a config of their own, to
# sync a shared mailbox from a real server.
if [ ! -x /usr/sbin/dovecot ]; then
  echo "ensure-system: installing Debian's dovecot-imapd"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq dovecot-imapd >/dev/null
  # The package starts a system-wide dovecot on 143; the tests need only the binary.
  as_root service dovecot stop >/dev/null 2>&1 || as_root pkill -x dovecot || true
fi

pg_up() { (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432) ; }
if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "ensure-system: installing PostgreSQL"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  echo "ensure-system: starting PostgreSQL $ver"
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "ensure-system: PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null
fi
echo "ensure-system: dovecot $(/usr/sbin/dovecot --version 2>/dev/null | cut -d" " -f1), chromium $( /usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), PostgreSQL ready"
