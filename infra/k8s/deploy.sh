#!/usr/bin/env bash
# Deploy Memo AI Coach to Kubernetes: migrate the schema, then roll out.
#
#   infra/k8s/deploy.sh [OVERLAY]      (default: infra/k8s/overlays/production)
#
# 1. Render OVERLAY/migrate and OVERLAY (nothing touches the cluster if either
#    fails to render).
# 2. Refuse to go on without the Secret memoai-secrets.
# 3. Replace the migration Job (a Job's pod template cannot change) and wait
#    until it is Complete; stop with its log if it Failed or took too long.
#    The running pods keep serving meanwhile, on the new schema: migrations
#    must stay compatible with the previous release (docs/operations.md).
# 4. Apply the services and wait for every rollout.
#
# Environment: NAMESPACE (memoai), KUBECTL (kubectl), MIGRATE_TIMEOUT (900 s,
# the Job's activeDeadlineSeconds), ROLLOUT_TIMEOUT (15m: a worker may take
# 330 s to drain), POLL_SECONDS (2, whole seconds).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
overlay=${1:-$here/overlays/production}
ns=${NAMESPACE:-memoai}
kubectl=${KUBECTL:-kubectl}
migrate_timeout=${MIGRATE_TIMEOUT:-900}
rollout_timeout=${ROLLOUT_TIMEOUT:-15m}
poll=${POLL_SECONDS:-2}

k() { "$kubectl" --namespace "$ns" "$@"; }
say() { printf 'deploy: %s\n' "$*" >&2; }
# config/ lies outside the kustomization roots (components/common says why).
render() { "$kubectl" kustomize --load-restrictor LoadRestrictionsNone "$1"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
render "$overlay/migrate" >"$work/migrate.yaml"
render "$overlay" >"$work/app.yaml"

if ! k get secret memoai-secrets >/dev/null; then
  say "no Secret memoai-secrets in namespace $ns: create it first (docs/operations.md, \"Running on Kubernetes\")"
  exit 1
fi

say "running the migration Job"
k delete job migrate --ignore-not-found --cascade=foreground --wait=true
k apply -f "$work/migrate.yaml"
# Not `kubectl wait --for=condition=complete` alone: it would sit out its whole
# timeout on a Job that has already failed.
waited=0
while :; do
  conditions=$(k get job migrate -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
  case " $conditions " in
  *" Complete "*) break ;;
  *" Failed "*)
    say "the migration failed; the services were not changed:"
    k logs job/migrate --tail=50 >&2 || true
    exit 1
    ;;
  esac
  if [ "$waited" -ge "$migrate_timeout" ]; then
    say "the migration did not finish within ${migrate_timeout}s; the services were not changed"
    exit 1
  fi
  sleep "$poll"
  waited=$((waited + poll))
done
k logs job/migrate --tail=5 >&2 || true

say "applying the services"
k apply -f "$work/app.yaml"
for deployment in api worker worker-chat beat web flower; do
  k rollout status "deployment/$deployment" --timeout="$rollout_timeout"
done
say "done"
