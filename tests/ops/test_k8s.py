"""The Kubernetes manifests (infra/k8s), checked without a cluster.

Rendered with the real kustomize (`kubectl kustomize`), validated against the
Kubernetes API schemas (kubernetes-validate, strict: unknown fields fail), and
compared with infra/compose/docker-compose.prod.yml, which stays the reference
for images, commands, environment, health checks and limits. deploy.sh runs
against a recording stand-in for kubectl whose `kustomize` is the real one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from memoai.config import load_settings, require_production_secrets
from memoai.config.settings import SERVICE_SECRETS
from memoai.platform.queue import TaskName, queue_for, secrets_for_queues
from memoai_cli.main import consumed_queues
from tests.ops.compose_support import COMPOSE_FILES, interpolate, load, service_environment
from tests.ops.tools import INFRA, REPO, require, run

K8S = INFRA / "k8s"
PRODUCTION = K8S / "overlays" / "production"
KUSTOMIZATIONS = {
    "base": K8S / "base",
    "migrate": K8S / "migrate",
    "production": PRODUCTION,
    "production-migrate": PRODUCTION / "migrate",
}
# The oldest Kubernetes minor the runbook promises, and the newest one the
# validator knows (nothing used is newer than 1.29: the Job's podReplacementPolicy).
KUBERNETES_VERSIONS = ("1.33", "1.37")
SERVICES = ("api", "worker", "worker-chat", "beat", "web", "flower")
WORKLOADS = (*SERVICES, "migrate")
SECRET = "memoai-secrets"
# Which secret file each pod mounts. Compose gives every app container
# database_url, jwt_secret and claude_api_key; here a pod gets what it uses.
SECRET_FILES = {
    "api": {"database_url", "redis_url", "jwt_secret", "claude_api_key", "webhook_signing_secret"},
    "worker": {
        "database_url",
        "redis_url",
        "jwt_secret",
        "claude_api_key",
        "webhook_signing_secret",
    },
    # Chat replies only: no webhook delivery, so no signing secret.
    "worker-chat": {"database_url", "redis_url", "jwt_secret", "claude_api_key"},
    "beat": {"redis_url", "jwt_secret"},
    "flower": {"redis_url", "jwt_secret"},
    "web": {"jwt_secret"},
    "migrate": {"database_url", "jwt_secret"},
}
FILE_VARIABLE = {
    "database_url": "DATABASE_URL_FILE",
    "redis_url": "REDIS_URL_FILE",
    "jwt_secret": "JWT_SECRET_KEY_FILE",
    "claude_api_key": "CLAUDE_API_KEY_FILE",
    "webhook_signing_secret": "WEBHOOK_SIGNING_SECRET_FILE",
}


# ------------------------------------------------------------------ rendering


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = require("kubectl")
    # config/ is outside the kustomization roots (see components/common).
    proc = run(kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", path)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


class Rendered:
    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def config_map(self, name: str) -> dict[str, Any]:
        return self.get("ConfigMap", name)

    def generated(self, prefix: str) -> dict[str, Any]:
        """A ConfigMap from a generator: `prefix` plus kustomize's content hash."""
        found = [
            o
            for o in self.of_kind("ConfigMap")
            if re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", o["metadata"]["name"])
        ]
        assert len(found) == 1, prefix
        return found[0]

    def pod(self, workload: str) -> dict[str, Any]:
        kind = "Job" if workload == "migrate" else "Deployment"
        spec: dict[str, Any] = self.get(kind, workload)["spec"]["template"]["spec"]
        return spec

    def container(self, workload: str) -> dict[str, Any]:
        containers = self.pod(workload)["containers"]
        assert len(containers) == 1, workload
        assert containers[0]["name"] == workload
        return dict(containers[0])

    def env(self, workload: str) -> dict[str, str]:
        """The container's environment as Kubernetes builds it: envFrom, then env."""
        container = self.container(workload)
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.config_map(source["configMapRef"]["name"])["data"])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = f"<secret {ref['name']}/{ref['key']}>"
        return env


@pytest.fixture(scope="module")
def renders() -> dict[str, Rendered]:
    return {name: Rendered(render(path)) for name, path in KUSTOMIZATIONS.items()}


@pytest.fixture(scope="module")
def prod(renders: dict[str, Rendered]) -> Rendered:
    """The production services plus the production migration Job."""
    return Rendered(renders["production"].objects + renders["production-migrate"].of_kind("Job"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = interpolate(load(COMPOSE_FILES["production"]), {})["services"]
    return services


def pod_labels(rendered: Rendered, workload: str) -> dict[str, str]:
    kind = "Job" if workload == "migrate" else "Deployment"
    labels: dict[str, str] = rendered.get(kind, workload)["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions In/NotIn/Exists)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and value in expr["values"]:
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
    return True


def mebibytes(quantity: str) -> float:
    """A Kubernetes (Mi, Gi) or Compose (M, G: binary in Docker) memory size, in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi|M|G)", str(quantity))
    assert match, quantity
    return float(match.group(1)) * (1024 if match.group(2).startswith("G") else 1)


def cores(quantity: str) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


# ------------------------------------------------------------------ schema


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_every_rendered_manifest_validates_against_the_kubernetes_api(
    renders: dict[str, Rendered], name: str, version: str
) -> None:
    problems = []
    for obj in renders[name].objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            # Only built-in kinds: no schema means a typo or a CRD nobody installed.
            problems.append(f"{where}: {exc.message}")
    assert problems == []


def test_the_validator_is_strict_about_unknown_fields(renders: dict[str, Rendered]) -> None:
    deployment = json.loads(json.dumps(renders["production"].get("Deployment", "api")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_manifest_file_is_part_of_a_kustomization() -> None:
    listed: set[Path] = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        data = yaml.safe_load(kustomization.read_text())
        listed |= {(kustomization.parent / r).resolve() for r in data.get("resources", [])}
    manifests = {
        p.resolve()
        for p in K8S.rglob("*.yaml")
        if p.name != "kustomization.yaml" and "prometheus-adapter" not in p.parts
    }
    assert manifests - listed == set(), "a manifest no kustomization renders"


def test_production_renders_the_services_in_one_namespace(renders: dict[str, Rendered]) -> None:
    for name in ("production", "production-migrate"):
        for obj in renders[name].objects:
            assert obj["metadata"].get("namespace") == "memoai", obj["metadata"]["name"]
            assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "memoai"
    kinds = {o["kind"] for o in renders["production"].objects}
    assert kinds == {
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy",
        "PodDisruptionBudget", "Service", "ServiceAccount",
    }  # fmt: skip
    assert {d["metadata"]["name"] for d in renders["production"].of_kind("Deployment")} == set(
        SERVICES
    )
    # The Job is applied on its own, first (deploy.sh): never with the services.
    assert {o["kind"] for o in renders["production-migrate"].objects} == {
        "ConfigMap", "Job", "ServiceAccount",
    }  # fmt: skip


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize("name", ["production", "production-migrate"])
def test_every_config_file_is_in_the_config_map_byte_for_byte(
    renders: dict[str, Rendered], name: str
) -> None:
    data = renders[name].generated("memoai-config")["data"]
    files = {p.name: p.read_text() for p in (REPO / "config").glob("*.yaml")}
    assert len(files) == 13
    assert set(data) == set(files)
    for filename, text in files.items():
        assert data[filename] == text, filename


def test_the_job_and_the_services_share_the_same_config_maps(renders: dict[str, Rendered]) -> None:
    for prefix in ("memoai-config", "memoai-env"):
        app = renders["production"].generated(prefix)
        job = renders["production-migrate"].generated(prefix)
        assert app == job, prefix


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_pod_reads_the_config_map_at_config_dir(prod: Rendered, workload: str) -> None:
    pod = prod.pod(workload)
    config_map = prod.generated("memoai-config")["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = [
        m
        for m in prod.container(workload)["volumeMounts"]
        if volumes[m["name"]].get("configMap", {}).get("name") == config_map
    ]
    assert len(mounts) == 1
    assert mounts[0]["mountPath"] == prod.env(workload)["CONFIG_DIR"]
    assert mounts[0]["readOnly"] is True


# ------------------------------------------------------------------ agreement with Compose


@pytest.mark.parametrize("workload", WORKLOADS)
def test_images_and_commands_are_the_compose_ones(
    renders: dict[str, Rendered], prod: Rendered, workload: str
) -> None:
    base = renders["migrate" if workload == "migrate" else "base"]
    tag = prod.container(workload)["image"].rsplit(":", 1)[1]
    compose_file = load(COMPOSE_FILES["production"])
    defaults = interpolate(compose_file, {})["services"][workload]
    released = interpolate(compose_file, {"MEMOAI_VERSION": tag})["services"][workload]
    # Base: Compose's defaults (REGISTRY=memoai, MEMOAI_VERSION=latest); production:
    # the same names at one release tag.
    assert base.container(workload)["image"] == defaults["image"]
    assert prod.container(workload)["image"] == released["image"]
    assert prod.container(workload)["command"] == defaults["command"]


def test_production_runs_one_release_tag_that_is_not_latest(prod: Rendered) -> None:
    tags = {prod.container(w)["image"].rsplit(":", 1)[1] for w in WORKLOADS}
    assert len(tags) == 1
    assert tags != {"latest"}, "rollout undo needs a tag that keeps meaning the old image"


def _compose_healthcheck(compose: dict[str, Any], workload: str) -> list[str]:
    test: list[str] = compose[workload]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "memoai-healthcheck"]
    return test[1:]


def _healthcheck_url(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], service: str
) -> tuple[int, str]:
    """The URL `memoai-healthcheck SERVICE` would fetch with this environment."""
    spec = importlib.util.spec_from_file_location(
        "memoai_healthcheck", INFRA / "docker" / "healthcheck.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    urls: list[str] = []
    monkeypatch.setattr(module, "_get", lambda url: urls.append(url) or True)
    for key in ("API_PORT", "WEB_PORT", "WORKER_METRICS_PORT", "FLOWER_PORT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert module.check(service)
    assert len(urls) == 1
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", urls[0])
    assert match, urls[0]
    return int(match.group(1)), match.group(2)


def _probe_target(container: dict[str, Any], probe: dict[str, Any]) -> tuple[str, int, str | None]:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for kind in ("httpGet", "tcpSocket"):
        if kind in probe:
            port = probe[kind]["port"]
            return kind, ports[port] if isinstance(port, str) else port, probe[kind].get("path")
    raise AssertionError(f"not an HTTP or TCP probe: {probe}")


@pytest.mark.parametrize("workload", ["api", "web", "flower"])
def test_http_liveness_probes_check_what_the_compose_health_check_checks(
    prod: Rendered,
    compose: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    workload: str,
) -> None:
    _, service = _compose_healthcheck(compose, workload)
    port, path = _healthcheck_url(monkeypatch, prod.env(workload), service)
    container = prod.container(workload)
    for name in ("startupProbe", "livenessProbe"):
        assert _probe_target(container, container[name]) == ("httpGet", port, path), name


@pytest.mark.parametrize("workload", ["worker", "worker-chat"])
def test_the_worker_probes_use_the_compose_check_without_killing_on_a_slow_database(
    prod: Rendered, compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, workload: str
) -> None:
    _, service = _compose_healthcheck(compose, workload)
    port, path = _healthcheck_url(monkeypatch, prod.env(workload), service)
    container = prod.container(workload)
    # Readiness is the Compose check (HTTP /metrics on the metrics port); liveness
    # only the open port, since /metrics queries the database.
    assert _probe_target(container, container["readinessProbe"]) == ("httpGet", port, path)
    assert _probe_target(container, container["livenessProbe"]) == ("tcpSocket", port, None)
    assert port == int(prod.env(workload)["WORKER_METRICS_PORT"])


def test_the_chat_worker_is_the_worker_but_for_its_queue_and_threads(
    prod: Rendered, compose: dict[str, Any]
) -> None:
    worker, chat = prod.container("worker"), prod.container("worker-chat")
    for key in ("image", "ports", "startupProbe", "livenessProbe", "readinessProbe"):
        assert chat[key] == worker[key], key
    # The general worker consumes every queue (no -Q/-X), the chat worker only
    # the queue chat replies are routed to.
    assert worker["command"] == ["memoai", "worker"]
    assert chat["command"] == ["memoai", "worker", "-Q", queue_for(TaskName.CHAT_REPLY)]
    assert compose["worker-chat"]["command"] == chat["command"]
    assert prod.env("worker-chat")["WORKER_CONCURRENCY"] == "8"
    assert "WORKER_CONCURRENCY" not in prod.env("worker")  # backend.yaml's default (16)


def test_beat_probes_run_the_compose_health_check(prod: Rendered, compose: dict[str, Any]) -> None:
    command = _compose_healthcheck(compose, "beat")
    container = prod.container("beat")
    for name in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[name]["exec"]["command"] == command, name


@pytest.mark.parametrize(
    ("workload", "source"),
    [
        ("api", "services/api/memoai_api/routes/health.py"),
        ("web", "services/web/memoai_web/app.py"),
    ],
)
def test_api_and_web_are_ready_only_when_health_ready_answers(
    prod: Rendered, workload: str, source: str
) -> None:
    container = prod.container(workload)
    port = int(prod.env(workload)["API_PORT" if workload == "api" else "WEB_PORT"])
    assert _probe_target(container, container["readinessProbe"]) == (
        "httpGet",
        port,
        "/health/ready",
    )
    assert '"/health/ready"' in (REPO / source).read_text()


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_deployment_has_probes_requests_and_limits(prod: Rendered, workload: str) -> None:
    container = prod.container(workload)
    if workload != "migrate":  # a Job's pod is not probed: it exits
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, probe
            assert container[probe].get("timeoutSeconds", 1) >= 5, probe
    resources = container["resources"]
    for resource in ("cpu", "memory"):
        assert resource in resources["requests"], resource
        assert resource in resources["limits"], resource
    assert mebibytes(resources["requests"]["memory"]) <= mebibytes(resources["limits"]["memory"])
    assert cores(resources["requests"]["cpu"]) <= cores(resources["limits"]["cpu"])


def measured_peak_rss() -> dict[str, float]:
    """docs/benchmarks.md "peak RSS: api / worker / beat", the larger of both back ends (MiB)."""
    text = (REPO / "docs" / "benchmarks.md").read_text()
    row = next(
        line for line in text.splitlines() if line.startswith("| peak RSS: api / worker / beat")
    )
    runs = re.findall(r"(\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) / (\d+(?:\.\d+)?) MB", row)
    assert len(runs) == 2, row  # SQLite and Postgres
    # bench/load.py reports VmRSS / 1024, i.e. MiB.
    return {
        name: max(float(run[i]) for run in runs) for i, name in enumerate(("api", "worker", "beat"))
    }


# Measured as: the chat worker is the worker's process with fewer threads.
MEASURED_AS = {"api": "api", "worker": "worker", "worker-chat": "worker", "beat": "beat"}


def test_memory_requests_cover_the_measured_rss_and_limits_are_the_compose_limits(
    prod: Rendered, compose: dict[str, Any]
) -> None:
    measured = measured_peak_rss()
    assert set(MEASURED_AS.values()) == set(measured)
    peaks = {workload: measured[source] for workload, source in MEASURED_AS.items()}
    for workload, peak in peaks.items():
        # The manifest's comment cites the figure its request is derived from.
        assert f"{peak:.0f} MB" in (K8S / "base" / f"{workload}.yaml").read_text(), workload
        request = mebibytes(prod.container(workload)["resources"]["requests"]["memory"])
        assert request >= 1.2 * peak, f"{workload}: request {request} MiB, measured {peak} MiB"
    for workload in SERVICES:
        limits = prod.container(workload)["resources"]["limits"]
        reference = compose[workload]["deploy"]["resources"]["limits"]
        assert mebibytes(limits["memory"]) == mebibytes(reference["memory"]), workload
        assert cores(limits["cpu"]) == float(reference["cpus"]), workload
        assert mebibytes(limits["memory"]) >= 2 * peaks.get(workload, 0)


# Compose's variables that have no place here, and why.
COMPOSE_ONLY = {
    "REDIS_URL": "a managed Redis URL holds a password: REDIS_URL_FILE",
    "BACKUP_DIR": "backups are the managed Postgres provider's (BACKUP_ENABLED=false)",
}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_environment_is_the_compose_one_but_for_the_listed_differences(
    prod: Rendered, compose: dict[str, Any], workload: str
) -> None:
    expected = service_environment(compose[workload])
    for name in COMPOSE_ONLY:
        expected.pop(name, None)
    for key, variable in FILE_VARIABLE.items():
        in_compose = expected.pop(variable, None)
        if key in SECRET_FILES[workload]:
            expected[variable] = in_compose or f"/run/secrets/{key}"
    expected["BACKUP_ENABLED"] = "false"
    # Compose trusts its edge network; here the ingress controller's pods, in
    # the cluster's private ranges.
    expected["FORWARDED_ALLOW_IPS"] = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10"
    if workload == "flower":
        expected["FLOWER_BASIC_AUTH"] = f"<secret {SECRET}/flower_basic_auth>"
    assert prod.env(workload) == expected


# Read by the application outside the YAML files, or by third parties.
_RUNTIME_VARS = {
    "APP_ENV", "DATA_DIR", "CONFIG_DIR", "API_HOST", "API_PORT", "WEB_HOST", "WEB_PORT", "API_URL",
}  # fmt: skip
_THIRD_PARTY_VARS = {
    "FORWARDED_ALLOW_IPS",  # uvicorn
    "FLOWER_PORT",  # infra/docker/healthcheck.py
    "FLOWER_BASIC_AUTH",  # Flower reads its options from FLOWER_*
}


def _config_vars() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "config").glob("*.yaml"):
        names |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", path.read_text()))
    return names


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_pod_starts_with_the_environment_it_is_given(
    prod: Rendered, workload: str, tmp_path: Path
) -> None:
    """Load the real configuration with exactly the environment the pod gets."""
    env = prod.env(workload)
    known = _config_vars() | _RUNTIME_VARS | _THIRD_PARTY_VARS
    unknown = {k for k in env if k not in known and k.removesuffix("_FILE") not in known}
    assert unknown == set(), f"variables nothing reads: {unknown}"
    # Real-looking values: production refuses short or placeholder secrets.
    db_password, redis_password = "p" * 24, "r" * 24
    values = {
        "database_url": f"postgresql://memoai:{db_password}@db.internal:5432/memoai",
        "redis_url": f"rediss://:{redis_password}@redis.internal:6380/0",
        "jwt_secret": "k" * 64,
        "claude_api_key": "sk-ant-k8s-" + "0" * 40,
        "webhook_signing_secret": "w" * 48,
    }
    for key, value in list(env.items()):
        if value.startswith("/run/secrets/"):
            file = tmp_path / value.removeprefix("/run/secrets/")
            file.write_text(values[file.name] + "\n")
            env[key] = str(file)
    env.pop("FLOWER_BASIC_AUTH", None)
    env["CONFIG_DIR"] = str(REPO / "config")  # the ConfigMap's content, byte for byte
    env["DATA_DIR"] = str(tmp_path / "data")
    settings = load_settings(env)  # raises with file, field and problem if anything is missing
    # And the secrets this workload's command needs (memoai api/worker check them; a
    # worker, for the queues its -Q/-X arguments leave it).
    command = prod.container(workload)["command"]
    if command[:2] == ["memoai", "worker"]:
        needed = secrets_for_queues(consumed_queues(settings, tuple(command[2:])))
    else:
        needed = SERVICE_SECRETS[workload]
    require_production_secrets(settings, needed)
    assert settings.runtime.app_env == "production"
    assert settings.authentication.enabled
    assert settings.authentication.jwt.secret_key == "k" * 64
    uses = SECRET_FILES[workload]
    assert settings.is_sqlite is ("database_url" not in uses)
    if "database_url" in uses:
        assert settings.database_url == (
            f"postgresql+psycopg://memoai:{db_password}@db.internal:5432/memoai"
        )
    assert settings.redis_url == (
        f"rediss://:{redis_password}@redis.internal:6380/0" if "redis_url" in uses else None
    )
    if "webhook_signing_secret" in uses:
        assert settings.security.webhooks.signing_secret == "w" * 48
    assert not settings.database.backup.enabled


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize("workload", WORKLOADS)
def test_secret_files_are_mounted_where_the_file_variables_point(
    prod: Rendered, workload: str
) -> None:
    pod = prod.pod(workload)
    container = prod.container(workload)
    secret_volumes = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    assert len(secret_volumes) == 1
    ((volume_name, secret),) = secret_volumes.items()
    assert secret["secretName"] == SECRET
    assert secret["defaultMode"] == 0o440
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume_name]
    assert mount["readOnly"] is True
    mounted = {item["path"]: item["key"] for item in secret["items"]}
    assert all(path == key for path, key in mounted.items())
    assert set(mounted) == SECRET_FILES[workload]
    pointed = {
        value.removeprefix(mount["mountPath"] + "/")
        for name, value in prod.env(workload).items()
        if name.endswith("_FILE")
    }
    # Every file variable has its file, and no secret is mounted that nothing reads.
    assert pointed == set(mounted)


SECRETISH = re.compile(r"SECRET|PASSWORD|API_KEY|TOKEN|DATABASE_URL|REDIS_URL|BASIC_AUTH")
CREDENTIAL_TEXT = [
    re.compile(r"[a-z+]+://[^\s/:@]*:[^\s/@]+@"),  # user:password@ in a URL
    re.compile(r"sk-ant-"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"whsec_[0-9a-f]{16,}"),
]


def test_no_secret_value_is_in_the_manifests(renders: dict[str, Rendered]) -> None:
    for rendered in renders.values():
        assert rendered.of_kind("Secret") == []
        text = yaml.safe_dump_all(rendered.objects)
        for pattern in CREDENTIAL_TEXT:
            assert not pattern.search(text), pattern.pattern
        for config_map in rendered.of_kind("ConfigMap"):
            if config_map["metadata"]["name"].startswith("memoai-env"):
                assert not [k for k in config_map["data"] if SECRETISH.search(k)]
        for deployment in rendered.of_kind("Deployment") + rendered.of_kind("Job"):
            spec = deployment["spec"]["template"]["spec"]
            for container in spec["containers"]:
                for item in container.get("env", []):
                    if SECRETISH.search(item["name"]) and not item["name"].endswith("_FILE"):
                        # By reference only: never a value in the pod spec.
                        assert "value" not in item, item["name"]
                        assert item["valueFrom"]["secretKeyRef"]["name"] == SECRET
            for volume in spec["volumes"]:
                if "secret" in volume:
                    assert volume["secret"]["secretName"] == SECRET
    for kustomization in K8S.rglob("kustomization.yaml"):
        data = yaml.safe_load(kustomization.read_text())
        assert "secretGenerator" not in data, kustomization


def _referenced_secret_keys(prod: Rendered) -> set[str]:
    keys = set()
    for workload in WORKLOADS:
        for volume in prod.pod(workload)["volumes"]:
            keys |= {item["key"] for item in volume.get("secret", {}).get("items", [])}
        for item in prod.container(workload).get("env", []):
            if "valueFrom" in item:
                keys.add(item["valueFrom"]["secretKeyRef"]["key"])
    return keys


def kubernetes_docs() -> str:
    text = (REPO / "docs" / "operations.md").read_text()
    match = re.search(r"^## Running on Kubernetes\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, 'docs/operations.md has no "## Running on Kubernetes" section'
    return match.group(1)


def test_every_secret_key_and_the_commands_are_documented(prod: Rendered) -> None:
    docs = kubernetes_docs()
    keys = _referenced_secret_keys(prod)
    assert keys == set().union(*SECRET_FILES.values()) | {"flower_basic_auth"}
    for key in keys:
        assert f"`{key}`" in docs, key
    tls = prod.get("Ingress", "memoai")["spec"]["tls"][0]["secretName"]
    for needle in (
        f"`{tls}`", SECRET, "infra/k8s/deploy.sh", "--for=condition=complete",
        "rollout undo deployment/api", "rollout status deployment/api",
        "memoai_queue_depth", "prometheus-adapter", "LoadRestrictionsNone",
        "worker-chat", "memoai_chat_queue_depth", "deployment/worker-chat",
    ):  # fmt: skip
        assert needle in docs, needle


# ------------------------------------------------------------------ pod security


@pytest.mark.parametrize("workload", WORKLOADS)
def test_pods_run_restricted(prod: Rendered, workload: str) -> None:
    """Pod Security "restricted", read-only root, no API token, no service links."""
    pod = prod.pod(workload)
    assert pod["securityContext"]["runAsNonRoot"] is True
    # The images' user (infra/docker/*.Dockerfile: useradd --uid 1000).
    assert pod["securityContext"]["runAsUser"] == 1000
    assert pod["securityContext"]["fsGroup"] == 1000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == "memoai"
    assert pod["automountServiceAccountToken"] is False
    # Services named api, web and flower would inject API_PORT=tcp://…, WEB_PORT=…
    # and FLOWER_PORT=…, which the app and the health check read as port numbers.
    assert pod["enableServiceLinks"] is False
    assert not pod.get("hostNetwork") and not pod.get("hostPID")
    container = prod.container(workload)
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert not context.get("privileged")
    # With a read-only root, every place the app writes is an emptyDir.
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {prod.env(workload)["DATA_DIR"], "/tmp"}
    for mount in container["volumeMounts"]:
        if not mount.get("readOnly"):
            assert "emptyDir" in volumes[mount["name"]], mount["name"]
    assert all("hostPath" not in v for v in pod["volumes"])
    assert prod.get("ServiceAccount", "memoai")["automountServiceAccountToken"] is False


def test_ports_the_app_reads_would_be_clobbered_by_service_links(prod: Rendered) -> None:
    # Why enableServiceLinks is off: Kubernetes sets <SERVICE>_PORT for every Service.
    injected = {
        f"{s['metadata']['name'].upper().replace('-', '_')}_PORT" for s in prod.of_kind("Service")
    }
    assert {"API_PORT", "WEB_PORT", "FLOWER_PORT"} <= injected


# ------------------------------------------------------------------ scaling and disruption


def test_beat_is_one_pod_replaced_not_rolled(prod: Rendered) -> None:
    beat = prod.get("Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert "beat" not in {
        h["spec"]["scaleTargetRef"]["name"] for h in prod.of_kind("HorizontalPodAutoscaler")
    }
    labels = pod_labels(prod, "beat")
    assert not [
        p for p in prod.of_kind("PodDisruptionBudget") if selects(p["spec"]["selector"], labels)
    ]


@pytest.mark.parametrize("workload", ["api", "worker", "worker-chat", "web"])
def test_rollouts_never_remove_a_ready_pod_first(prod: Rendered, workload: str) -> None:
    strategy = prod.get("Deployment", workload)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_the_worker_may_finish_its_evaluations_when_stopped(
    prod: Rendered, compose: dict[str, Any]
) -> None:
    grace = prod.pod("worker")["terminationGracePeriodSeconds"]
    assert f"{grace}s" == compose["worker"]["stop_grace_period"]
    backend = (REPO / "config" / "backend.yaml").read_text()
    hard_limit = int(re.search(r"TASK_TIME_LIMIT:-(\d+)", backend).group(1))  # type: ignore[union-attr]
    assert grace > hard_limit


def test_the_chat_worker_may_finish_its_replies_when_stopped(
    prod: Rendered, compose: dict[str, Any]
) -> None:
    grace = prod.pod("worker-chat")["terminationGracePeriodSeconds"]
    assert f"{grace}s" == compose["worker-chat"]["stop_grace_period"]
    # A reply's LLM call runs under the evaluation timeout (coaching.chat_pipeline).
    backend = (REPO / "config" / "backend.yaml").read_text()
    reply_bound = int(re.search(r"EVALUATION_TIMEOUT:-(\d+)", backend).group(1))  # type: ignore[union-attr]
    pipeline = (REPO / "shared" / "memoai" / "coaching" / "chat_pipeline.py").read_text()
    assert "deadline(float(settings.backend.evaluation.timeout_seconds))" in pipeline
    assert grace > reply_bound
    assert grace < prod.pod("worker")["terminationGracePeriodSeconds"]


def _hpa(prod: Rendered, name: str) -> dict[str, Any]:
    hpa = prod.get("HorizontalPodAutoscaler", name)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    # The HPA owns the replica count: a `replicas` in the Deployment would reset
    # it on every apply.
    assert "replicas" not in prod.get("Deployment", name)["spec"]
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    return hpa


def test_the_api_scales_on_cpu(prod: Rendered) -> None:
    (metric,) = _hpa(prod, "api")["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"


def _worker_concurrency() -> int:
    backend = (REPO / "config" / "backend.yaml").read_text()
    return int(re.search(r"WORKER_CONCURRENCY:-(\d+)", backend).group(1))  # type: ignore[union-attr]


def test_the_worker_scales_on_the_queue_with_cpu_as_the_fallback(prod: Rendered) -> None:
    metrics = _hpa(prod, "worker")["spec"]["metrics"]
    external = {
        m["external"]["metric"]["name"]: m["external"]["target"]
        for m in metrics
        if m["type"] == "External"
    }
    assert set(external) == {"memoai_queue_depth", "memoai_evaluations_in_progress"}
    for target in external.values():
        assert target["type"] == "AverageValue"  # a cluster-wide number divided by pods
    concurrency = _worker_concurrency()
    assert int(external["memoai_queue_depth"]["averageValue"]) == concurrency
    # Add a pod before every thread of the existing ones is taken.
    assert int(external["memoai_evaluations_in_progress"]["averageValue"]) < concurrency
    resource = [m["resource"] for m in metrics if m["type"] == "Resource"]
    assert [r["name"] for r in resource] == ["cpu"]


def test_the_chat_worker_scales_on_the_chat_queue_with_cpu_as_the_fallback(
    prod: Rendered,
) -> None:
    hpa = _hpa(prod, "worker-chat")["spec"]
    external = [m["external"] for m in hpa["metrics"] if m["type"] == "External"]
    assert [e["metric"] for e in external] == [{"name": "memoai_chat_queue_depth"}]
    (target,) = [e["target"] for e in external]
    assert target["type"] == "AverageValue"
    # Fewer waiting replies per pod than a pod has threads: someone waits for each.
    threads = int(prod.env("worker-chat")["WORKER_CONCURRENCY"])
    assert 1 <= int(target["averageValue"]) < threads
    resource = [m["resource"] for m in hpa["metrics"] if m["type"] == "Resource"]
    assert [r["name"] for r in resource] == ["cpu"]
    # Scale-down waits longer than a chat worker takes to drain.
    grace = prod.pod("worker-chat")["terminationGracePeriodSeconds"]
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] > grace


def _adapter_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = yaml.safe_load(
        (K8S / "prometheus-adapter" / "rules.yaml").read_text()
    )["rules"]["external"]
    return rules


def _exported_metric_names() -> set[str]:
    names: set[str] = set()
    for module in ("platform/metrics.py", "operations/state_metrics.py"):
        names |= set(
            re.findall(r'"(memoai_[a-z_]+)"', (REPO / "shared" / "memoai" / module).read_text())
        )
    return names


def _series(rule: dict[str, Any]) -> str:
    match = re.match(r"([a-z_:]+)\{", rule["seriesQuery"])
    assert match, rule["seriesQuery"]
    return match.group(1)


def test_the_adapter_serves_every_external_metric_from_a_metric_the_app_exports(
    prod: Rendered,
) -> None:
    hpa_metrics = {
        m["external"]["metric"]["name"]
        for hpa in prod.of_kind("HorizontalPodAutoscaler")
        for m in hpa["spec"]["metrics"]
        if m["type"] == "External"
    }
    rules = {rule["name"]["as"]: rule for rule in _adapter_rules()}
    assert set(rules) == hpa_metrics
    exported = _exported_metric_names()
    for name, rule in rules.items():
        series = _series(rule)
        assert re.sub(r"_(sum|count|bucket)$", "", series) in exported, series
        assert re.fullmatch(rule["name"]["matches"], series), name
        assert rule["resources"]["overrides"]["namespace"] == {"resource": "namespace"}
    # Every api and worker pod reports the same database count: a sum would grow
    # with the number of pods, and the HPA would chase its own tail.
    for gauge in ("memoai_queue_depth", "memoai_chat_queue_depth"):
        query = rules[gauge]["metricsQuery"]
        assert query.startswith("max("), gauge
        assert "sum(" not in query, gauge


def test_the_chat_queue_depth_is_the_broker_depth_of_the_chat_queue() -> None:
    (rule,) = [r for r in _adapter_rules() if r["name"]["as"] == "memoai_chat_queue_depth"]
    assert _series(rule) == "memoai_broker_queue_depth"
    assert "memoai_broker_queue_depth" in _exported_metric_names()
    # The gauge's label is `queue`, valued with the queue names (state_metrics).
    state = (REPO / "shared" / "memoai" / "operations" / "state_metrics.py").read_text()
    assert re.search(r'"memoai_broker_queue_depth",\s*"[^"]*",\s*labels=\["queue"\]', state)
    chat = queue_for(TaskName.CHAT_REPLY)
    # In the query, not only in the discovery: seriesQuery only finds the series.
    assert f'queue="{chat}"' in rule["seriesQuery"]
    assert re.fullmatch(
        rf"max\(<<\.Series>>\{{queue=\"{chat}\",<<\.LabelMatchers>>\}}\)", rule["metricsQuery"]
    ), rule["metricsQuery"]


def test_the_adapter_queries_are_valid_promql(tmp_path: Path) -> None:
    promtool = require("promtool")
    rules = []
    for rule in _adapter_rules():
        expr = rule["metricsQuery"].replace("<<.Series>>", _series(rule))
        expr = expr.replace("<<.LabelMatchers>>", 'namespace="memoai"')
        rules.append({"record": rule["name"]["as"], "expr": expr})
    path = tmp_path / "adapter.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "adapter", "rules": rules}]}))
    proc = run(promtool, "check", "rules", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _owned_selectors(prod: Rendered, workload: str) -> dict[str, dict[str, Any]]:
    """The selectors that stand for one workload's pods, by the object holding them."""
    deployment = prod.get("Deployment", workload)["spec"]
    out = {f"Deployment/{workload}": deployment["selector"]}
    for i, spread in enumerate(deployment["template"]["spec"].get("topologySpreadConstraints", [])):
        out[f"Deployment/{workload} topologySpreadConstraints[{i}]"] = spread["labelSelector"]
    for hpa in prod.of_kind("HorizontalPodAutoscaler"):
        # An HPA's pods (its CPU average, its replica count) are those its
        # Deployment's selector matches.
        if hpa["spec"]["scaleTargetRef"]["name"] == workload:
            out[f"HorizontalPodAutoscaler/{hpa['metadata']['name']}"] = deployment["selector"]
    for service in prod.of_kind("Service"):
        if service["metadata"]["name"] == workload:
            out[f"Service/{workload}"] = {"matchLabels": service["spec"]["selector"]}
    for budget in prod.of_kind("PodDisruptionBudget"):
        if budget["metadata"]["name"] == workload:
            out[f"PodDisruptionBudget/{workload}"] = budget["spec"]["selector"]
    return out


@pytest.mark.parametrize("workload", ["worker", "worker-chat"])
def test_the_worker_and_the_chat_worker_selectors_do_not_overlap(
    prod: Rendered, workload: str
) -> None:
    selectors = _owned_selectors(prod, workload)
    # Each has them all: Deployment, spread, HPA, the headless Service, a budget.
    assert len(selectors) == 5, sorted(selectors)
    for where, selector in selectors.items():
        matched = [w for w in SERVICES if selects(selector, pod_labels(prod, w))]
        assert matched == [workload], where


@pytest.mark.parametrize("workload", ["api", "worker", "worker-chat", "web"])
def test_a_drain_takes_at_most_one_pod_of_api_worker_and_web(prod: Rendered, workload: str) -> None:
    labels = pod_labels(prod, workload)
    budgets = [
        p for p in prod.of_kind("PodDisruptionBudget") if selects(p["spec"]["selector"], labels)
    ]
    assert len(budgets) == 1
    assert budgets[0]["spec"] == {"maxUnavailable": 1, "selector": budgets[0]["spec"]["selector"]}
    # The budget selects these pods only.
    others = [w for w in SERVICES if w != workload]
    assert not [w for w in others if selects(budgets[0]["spec"]["selector"], pod_labels(prod, w))]


# ------------------------------------------------------------------ traffic


def test_services_select_one_deployment_each_by_named_port(prod: Rendered) -> None:
    for service in prod.of_kind("Service"):
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector")
        if name == "metrics-blocked":
            assert selector is None  # no endpoints, on purpose
            continue
        matched = [w for w in SERVICES if selects({"matchLabels": selector}, pod_labels(prod, w))]
        assert matched == [name]
        ports = {p["name"] for p in prod.container(name)["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, name
    for name in ("worker", "worker-chat"):  # Prometheus discovery only
        assert prod.get("Service", name)["spec"]["clusterIP"] == "None"
    # API_URL names the api Service and its port.
    api = prod.get("Service", "api")["spec"]["ports"][0]["port"]
    assert prod.env("web")["API_URL"] == f"http://api:{api}"


def _ingress_paths(prod: Rendered) -> dict[str, tuple[str, str, Any]]:
    (rule,) = prod.get("Ingress", "memoai")["spec"]["rules"]
    out = {}
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        port = backend["port"].get("name") or backend["port"].get("number")
        out[path["path"]] = (path["pathType"], backend["name"], port)
    return out


def test_the_ingress_routes_like_the_compose_nginx_and_keeps_metrics_inside(prod: Rendered) -> None:
    ingress = prod.get("Ingress", "memoai")["spec"]
    (tls,) = ingress["tls"]
    assert tls["secretName"] == "memoai-tls"
    assert tls["hosts"] == [rule["host"] for rule in ingress["rules"]]
    assert _ingress_paths(prod) == {
        "/api": ("Prefix", "api", "http"),
        "/flower": ("Prefix", "flower", "http"),
        "/": ("Prefix", "web", "http"),
        "/metrics": ("Exact", "metrics-blocked", 80),
        "/flower/metrics": ("Exact", "metrics-blocked", 80),
    }
    # Flower's URL prefix is the Ingress path.
    assert "--url_prefix=flower" in prod.container("flower")["command"]
    # The body limit is nginx's (and backend.yaml's max_request_size).
    nginx = (INFRA / "nginx" / "nginx.conf").read_text()
    body = re.search(r"client_max_body_size (\S+);", nginx).group(1)  # type: ignore[union-attr]
    annotations = prod.get("Ingress", "memoai")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == body
    # Document uploads have their own, larger limit (nginx's for the same path).
    uploads = prod.get("Ingress", "memoai-uploads")
    upload_body = re.search(
        r"location = /api/v1/documents/extract \{[^}]*client_max_body_size (\S+);", nginx
    ).group(1)  # type: ignore[union-attr]
    assert uploads["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == (
        upload_body
    )
    (upload_rule,) = uploads["spec"]["rules"]
    assert upload_rule["host"] == ingress["rules"][0]["host"]
    assert uploads["spec"]["tls"] == ingress["tls"]
    (upload_path,) = upload_rule["http"]["paths"]
    assert (upload_path["path"], upload_path["pathType"]) == ("/api/v1/documents/extract", "Exact")
    assert upload_path["backend"]["service"]["name"] == "api"


def test_flower_checks_basic_auth_from_the_secret(prod: Rendered) -> None:
    (item,) = [e for e in prod.container("flower")["env"] if e["name"] == "FLOWER_BASIC_AUTH"]
    assert item == {
        "name": "FLOWER_BASIC_AUTH",
        "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "flower_basic_auth"}},
    }


def _policies_for(prod: Rendered, workload: str, direction: str) -> list[dict[str, Any]]:
    labels = pod_labels(prod, workload)
    rules = []
    for policy in prod.of_kind("NetworkPolicy"):
        spec = policy["spec"]
        if direction in spec["policyTypes"] and selects(spec["podSelector"], labels):
            rules += spec.get(direction.lower(), [])
    return rules


def _ports(rule: dict[str, Any]) -> set[Any]:
    return {p.get("port", "any") for p in rule.get("ports", [])} or {"any"}


def test_network_policies_deny_by_default(prod: Rendered) -> None:
    deny = prod.get("NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in prod.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            # Never "from anywhere".
            assert rule.get("from"), policy["metadata"]["name"]


def test_only_the_ingress_controller_web_and_prometheus_reach_the_pods(prod: Rendered) -> None:
    def sources(workload: str) -> dict[str, set[Any]]:
        out: dict[str, set[Any]] = {}
        for rule in _policies_for(prod, workload, "Ingress"):
            for peer in rule["from"]:
                if "namespaceSelector" in peer:
                    key = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                else:
                    key = peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                out.setdefault(key, set()).update(_ports(rule))
        return out

    container_ports = {
        w: {p["containerPort"] for p in prod.container(w).get("ports", [])} for w in SERVICES
    }
    for workload in ("api", "web", "flower"):
        got = sources(workload)
        assert container_ports[workload] <= got.pop("ingress-nginx")
        assert container_ports[workload] <= got.pop("monitoring")
        assert got == ({"web": {8000}} if workload == "api" else {})
    assert sources("worker") == {"monitoring": {8000, 3000, 9808, 5555}}
    assert sources("worker-chat") == {"monitoring": {8000, 3000, 9808, 5555}}
    assert sources("beat") == {"monitoring": {8000, 3000, 9808, 5555}}


PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


def test_egress_is_what_each_pod_needs_and_no_more(prod: Rendered) -> None:
    def egress(workload: str) -> set[str]:
        out = set()
        for rule in _policies_for(prod, workload, "Egress"):
            ports = _ports(rule)
            peers = rule.get("to")
            if not peers:
                out |= {f"any:{p}" for p in ports}
                continue
            for peer in peers:
                if "ipBlock" in peer:
                    block = peer["ipBlock"]
                    if block["cidr"] == "0.0.0.0/0":
                        assert set(block["except"]) >= PRIVATE  # not the metadata endpoint
                        out |= {f"public:{p}" for p in ports}
                else:
                    component = peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                    out |= {f"{component}:{p}" for p in ports}
        return out

    dns = {"any:53"}
    backing = {"any:5432", "any:6379", "any:6380"}
    assert egress("web") == dns | {"api:8000"}
    for workload in ("beat", "flower", "migrate"):
        assert egress(workload) == dns | backing, workload
    assert egress("api") == dns | backing | {"public:443"}
    assert egress("worker") == dns | backing | {"public:443", "public:any"}
    # The Claude API, but no webhook deliveries (not its queue).
    assert egress("worker-chat") == dns | backing | {"public:443"}


# ------------------------------------------------------------------ migration


def test_the_migration_job_runs_memoai_migrate_one_pod_at_a_time(
    prod: Rendered, compose: dict[str, Any]
) -> None:
    job = prod.get("Job", "migrate")["spec"]
    assert job["parallelism"] == 1
    assert job["completions"] == 1
    assert job["podReplacementPolicy"] == "Failed"  # no second pod while one still runs
    assert 0 < job["backoffLimit"] <= 3
    assert job["activeDeadlineSeconds"] > 0
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert prod.container("migrate")["command"] == ["memoai", "migrate"]
    assert compose["migrate"]["image"] == compose["api"]["image"]
    assert prod.container("migrate")["image"] == prod.container("api")["image"]


# ------------------------------------------------------------------ deploy.sh

FAKE_KUBECTL = """#!{python}
# Records each call; answers like a cluster would; renders with the real kubectl.
import json, os, sys
import yaml
args = sys.argv[1:]
if args[0] == "kustomize":
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps({{"verb": "kustomize", "args": args}}) + "\\n")
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
namespace = None
if args[0] == "--namespace":
    namespace, args = args[1], args[2:]
entry = {{"verb": args[0], "args": args, "namespace": namespace}}
code = 0
if args[0] == "apply":
    with open(args[args.index("-f") + 1]) as f:
        entry["kinds"] = sorted({{d["kind"] for d in yaml.safe_load_all(f) if d}})
elif args[:2] == ["get", "secret"]:
    code = 1 if os.environ.get("FAKE_NO_SECRET") else 0
elif args[:2] == ["get", "job"]:
    answers = os.environ["FAKE_JOB_CONDITIONS"].split("|")
    count_file = os.environ["FAKE_LOG"] + ".polls"
    count = int(open(count_file).read()) if os.path.exists(count_file) else 0
    open(count_file, "w").write(str(count + 1))
    print(answers[min(count, len(answers) - 1)], end="")
elif args[0] == "logs":
    print("Database (postgresql) at revision 0002 (was 0001).")
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
sys.exit(code)
"""


def deploy(tmp_path: Path, *args: str | Path, **env: str) -> tuple[int, str, list[dict[str, Any]]]:
    """Run deploy.sh against the recording kubectl; its exit code, stderr and calls."""
    fake = tmp_path / "kubectl"
    fake.write_text(FAKE_KUBECTL.format(python=sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    proc = run(
        K8S / "deploy.sh",
        *args,
        env={
            "PATH": "/usr/bin:/bin",
            "KUBECTL": str(fake),
            "REAL_KUBECTL": require("kubectl"),
            "FAKE_LOG": str(log),
            "FAKE_JOB_CONDITIONS": "SuccessCriteriaMet Complete",
            "POLL_SECONDS": "1",
            **env,
        },
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc.returncode, proc.stderr, calls


def _verbs(calls: list[dict[str, Any]]) -> list[str]:
    return [" ".join(c["args"][:2]) if c["verb"] != "kustomize" else "kustomize" for c in calls]


def test_deploy_runs_the_migration_to_completion_before_applying_the_services(
    tmp_path: Path,
) -> None:
    code, stderr, calls = deploy(tmp_path, FAKE_JOB_CONDITIONS="|SuccessCriteriaMet Complete")
    assert code == 0, stderr
    assert _verbs(calls) == [
        "kustomize", "kustomize", "get secret", "delete job", "apply -f",
        "get job", "get job", "logs job/migrate", "apply -f",
        *["rollout status"] * len(SERVICES),
    ]  # fmt: skip
    rendered = [c["args"][-1] for c in calls if c["verb"] == "kustomize"]
    assert [Path(r) for r in rendered] == [PRODUCTION / "migrate", PRODUCTION]
    first_apply, second_apply = [c for c in calls if c["verb"] == "apply"]
    assert first_apply["kinds"] == ["ConfigMap", "Job", "ServiceAccount"]
    assert "Job" not in second_apply["kinds"]
    assert "Deployment" in second_apply["kinds"]
    rollouts = [c["args"][2] for c in calls if c["verb"] == "rollout"]
    assert rollouts == [f"deployment/{d}" for d in SERVICES]
    assert {c["namespace"] for c in calls if c["verb"] != "kustomize"} == {"memoai"}
    (delete,) = [c for c in calls if c["verb"] == "delete"]
    assert delete["args"][:3] == ["delete", "job", "migrate"]
    assert "--ignore-not-found" in delete["args"]


def test_deploy_stops_before_the_services_when_the_migration_fails(tmp_path: Path) -> None:
    code, stderr, calls = deploy(tmp_path, FAKE_JOB_CONDITIONS="FailureTarget Failed")
    assert code == 1
    assert "migration failed" in stderr
    assert "revision" in stderr  # the Job's log is shown
    assert [c["kinds"] for c in calls if c["verb"] == "apply"] == [
        ["ConfigMap", "Job", "ServiceAccount"]
    ]
    assert not [c for c in calls if c["verb"] == "rollout"]


def test_deploy_stops_when_the_migration_does_not_finish_in_time(tmp_path: Path) -> None:
    code, stderr, calls = deploy(tmp_path, FAKE_JOB_CONDITIONS="", MIGRATE_TIMEOUT="2")
    assert code == 1
    assert "did not finish within 2s" in stderr
    assert len([c for c in calls if c["verb"] == "apply"]) == 1
    assert len([c for c in calls if c["args"][:2] == ["get", "job"]]) >= 2


def test_deploy_changes_nothing_without_the_secret(tmp_path: Path) -> None:
    code, stderr, calls = deploy(tmp_path, FAKE_NO_SECRET="1")
    assert code == 1
    assert "memoai-secrets" in stderr
    assert not [c for c in calls if c["verb"] in ("apply", "delete", "rollout")]


def test_deploy_changes_nothing_when_an_overlay_does_not_render(tmp_path: Path) -> None:
    broken = tmp_path / "overlay"
    (broken / "migrate").mkdir(parents=True)
    (broken / "migrate" / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    (broken / "kustomization.yaml").write_text("resources: []\n")
    code, _, calls = deploy(tmp_path, broken)
    assert code != 0
    assert [c["verb"] for c in calls] == ["kustomize"]
