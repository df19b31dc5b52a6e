#!/usr/bin/env bash
# Create the Docker secrets the production stack reads (docker-compose.prod.yml):
#   infra/compose/init-secrets.sh [DIR]        (default infra/compose/secrets)
# Existing files are kept, so running it again is safe; delete a file and run
# it again to rotate that secret (docs/operations.md, "Rotate secrets").
# CLAUDE_API_KEY and FLOWER_PASSWORD / GRAFANA_PASSWORD may be given in the
# environment; otherwise the Claude key is left empty (offline evaluator) and the
# passwords are generated and printed once.
set -euo pipefail
dir="${1:-$(cd "$(dirname "$0")" && pwd)/secrets}"
command -v openssl >/dev/null || { echo "init-secrets: openssl is required" >&2; exit 1; }
mkdir -p "$dir"
chmod 700 "$dir"

random() { openssl rand -base64 48 | tr -d '/+=\n' | cut -c1-"$1"; }

write() { # name value
  local file="$dir/$1"
  if [[ -e "$file" ]]; then
    echo "init-secrets: keeping $1"
    return 1
  fi
  (umask 022; printf '%s' "$2" > "$file")
  chmod 644 "$file"
  echo "init-secrets: wrote $1"
}

write jwt_secret "$(random 64)" || true
write claude_api_key "${CLAUDE_API_KEY:-}" || true
if [[ ! -e "$dir/postgres_password" ]]; then
  pg_password="$(random 40)"
  write postgres_password "$pg_password"
  write database_url "postgresql://memoai:${pg_password}@postgres:5432/memoai" || true
else
  echo "init-secrets: keeping postgres_password"
  [[ -e "$dir/database_url" ]] || { echo "init-secrets: database_url is missing but postgres_password exists; write it by hand" >&2; exit 1; }
fi
if [[ ! -e "$dir/flower_htpasswd" ]]; then
  flower_password="${FLOWER_PASSWORD:-$(random 24)}"
  write flower_htpasswd "ops:$(openssl passwd -apr1 "$flower_password")"$'\n'
  [[ -n "${FLOWER_PASSWORD:-}" ]] || echo "init-secrets: Flower login ops / $flower_password (shown once)"
else
  echo "init-secrets: keeping flower_htpasswd"
fi
if [[ ! -e "$dir/grafana_admin_password" ]]; then
  grafana_password="${GRAFANA_PASSWORD:-$(random 24)}"
  write grafana_admin_password "$grafana_password"
  [[ -n "${GRAFANA_PASSWORD:-}" ]] || echo "init-secrets: Grafana login admin / $grafana_password (shown once)"
else
  echo "init-secrets: keeping grafana_admin_password"
fi
