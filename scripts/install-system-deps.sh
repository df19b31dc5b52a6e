#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium (browser tests),
# nginx (`nginx -t`), Prometheus (promtool, scraping), poppler (pdftotext),
# openssl and the PostgreSQL client (operations checks).
# Installs only what is missing; needs root (CI and dev machines here are root).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# Operations checks: certificates and htpasswd (openssl), backups and restore
# on Postgres (pg_dump, pg_restore, psql).
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v pg_restore >/dev/null 2>&1 || need+=(postgresql-client)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "install-system-deps: missing ${need[*]}; run as root or install them" >&2
  exit 0
fi
echo "install-system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
