#!/usr/bin/env bash
# Create the Docker secrets the production stack reads (docker-compose.prod.yml):
#   infra/compose/init-secrets.sh [DIR]          (default infra/compose/secrets)
#   infra/compose/init-secrets.sh --check [DIR]  (refuse missing, short or default ones)
# Existing files are kept, so running it again is safe; delete a file and run
# it again to rotate that secret (docs/operations.md, "Rotate secrets").
# CLAUDE_API_KEY and FLOWER_PASSWORD / GRAFANA_PASSWORD may be given in the
# environment; otherwise the passwords are generated and printed once, and the
# Claude key is left empty (then set LLM_PROVIDER=offline, or write the key:
# production refuses to start with LLM_PROVIDER=claude and no key).
# `make up-prod` runs --check before starting anything. The application checks
# its own secrets again at start-up (memoai config check); Flower's and
# Grafana's are checked only here.
set -euo pipefail
check=0
if [[ "${1:-}" == "--check" ]]; then
  check=1
  shift
fi
dir="${1:-$(cd "$(dirname "$0")" && pwd)/secrets}"

# ---------------------------------------------------------------- --check
if (( check )); then
  problems=0
  fail() { echo "init-secrets: $1" >&2; problems=$((problems + 1)); }
  placeholder() { # value -> 0 if it is a well-known default
    local v
    v="$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')"
    case "$v" in
      ""|admin|password|passw0rd|changeme|change-me|change_me|secret|memoai|postgres|test|example) return 0 ;;
      *changeme*|*change-me*|*replace-me*|*your-*|*example*) return 0 ;;
    esac
    return 1
  }
  need() { # name min-length
    local file="$dir/$1"
    if [[ ! -s "$file" ]]; then fail "$1 is missing or empty ($file)"; return; fi
    local value
    value="$(tr -d '\n' < "$file")"
    if placeholder "$value"; then fail "$1 is a default or placeholder value"; return; fi
    if (( ${#value} < $2 )); then fail "$1 is shorter than $2 characters"; fi
  }
  need jwt_secret 32
  need webhook_signing_secret 32
  need postgres_password 16
  need grafana_admin_password 16
  if [[ -s "$dir/database_url" ]]; then
    url="$(tr -d '\n' < "$dir/database_url")"
    # postgresql://user:PASSWORD@host...: the password must be the generated one.
    pw="${url#*://}"; pw="${pw%%@*}"
    if [[ "$pw" != *:* ]]; then
      fail "database_url has no password"
    else
      pw="${pw#*:}"
      if placeholder "$pw" || (( ${#pw} < 12 )); then fail "database_url's password is short or a default"; fi
      if [[ -s "$dir/postgres_password" && "$pw" != "$(tr -d '\n' < "$dir/postgres_password")" ]]; then
        fail "database_url's password differs from postgres_password"
      fi
    fi
  else
    fail "database_url is missing or empty ($dir/database_url)"
  fi
  # user:$apr1$… (or bcrypt) lines only: a plain-text password would be accepted
  # by nginx as a literal hash and never match, an empty file locks nobody out.
  if [[ ! -s "$dir/flower_htpasswd" ]]; then
    fail "flower_htpasswd is missing or empty"
  elif grep -qvE '^[^:[:space:]]+:\$(apr1|2[aby])\$' "$dir/flower_htpasswd"; then
    fail "flower_htpasswd has a line that is not user:\$apr1\$… (use openssl passwd -apr1)"
  else
    # Re-hash the well-known defaults with each line's salt: a match is a default password.
    while IFS=: read -r user hash; do
      [[ "$hash" == '$apr1$'* ]] || continue
      salt="${hash#\$apr1\$}"; salt="${salt%%\$*}"
      for guess in admin password passw0rd changeme secret flower ops memoai "$user"; do
        if [[ "$(openssl passwd -apr1 -salt "$salt" "$guess")" == "$hash" ]]; then
          fail "flower_htpasswd: $user has a default password"
        fi
      done
    done < "$dir/flower_htpasswd"
  fi
  if [[ "${LLM_PROVIDER:-claude}" == "claude" ]]; then
    key="$(tr -d '\n' < "$dir/claude_api_key" 2>/dev/null || true)"
    if [[ -z "$key" ]] || placeholder "$key"; then
      fail "claude_api_key is empty: write the key, or set LLM_PROVIDER=offline"
    fi
  fi
  if (( problems )); then
    echo "init-secrets: $problems problem(s) in $dir; fix them (or delete the file and run init-secrets.sh again)" >&2
    exit 1
  fi
  echo "init-secrets: all secrets in $dir look good"
  exit 0
fi

# ---------------------------------------------------------------- create
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
write webhook_signing_secret "$(random 64)" || true
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
if [[ -z "$(cat "$dir/claude_api_key")" ]]; then
  echo "init-secrets: claude_api_key is empty: write the key into it, or set LLM_PROVIDER=offline"
fi
