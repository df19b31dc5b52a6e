#!/usr/bin/env bash
# A self-signed certificate for running the production stack locally:
#   infra/nginx/gen-cert.sh [DIR] [HOSTNAME]
# writes DIR/fullchain.pem and DIR/privkey.pem (default infra/nginx/certs,
# HOSTNAME default localhost). Browsers will warn: for real users put a CA-signed
# certificate (e.g. Let's Encrypt, webroot /var/www/acme) at the same paths.
# An existing pair is kept unless FORCE=1.
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")" && pwd)/certs}"
host="${2:-localhost}"
if [[ -s "$dir/fullchain.pem" && -s "$dir/privkey.pem" && "${FORCE:-0}" != "1" ]]; then
  echo "gen-cert: $dir already has a certificate (FORCE=1 replaces it)"
  exit 0
fi
command -v openssl >/dev/null || { echo "gen-cert: openssl is required" >&2; exit 1; }
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -days 397 -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
  -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null
chmod 600 "$dir/privkey.pem"
chmod 644 "$dir/fullchain.pem"
echo "gen-cert: wrote $dir/fullchain.pem and $dir/privkey.pem for $host (self-signed, 397 days)"
