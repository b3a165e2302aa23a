"""The Kubernetes manifests and the compose file: valid against the schemas, and consistent with each other,
with the image (Dockerfile) and with the settings the server and the client really read."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml

from truenas_mcp.client import ClientConfig
from truenas_mcp.client.config import ENV_VARS
from truenas_mcp.server.auth import read_secret
from truenas_mcp.server.settings import ENV_PREFIX, ServerSettings, SettingsError, load_settings
from truenas_mcp.server.store import open_store

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")
REDIS = KUBERNETES / "redis.yaml"  # the shared store: its own Service, so kept apart from the server's
OPTIONAL = {"ingress.yaml"}  # shipped, validated, but opted into by editing kustomization.yaml
# The oldest Kubernetes release still in wide support and the newest the schemas know.
VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version() + ".0")
SERVER_FIELDS = {ENV_PREFIX + name.upper() for name in ServerSettings.model_fields}
CLIENT_VARS = set(ENV_VARS.values())


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def _resources() -> dict[str, dict[str, Any]]:
    """The server's resources by kind."""
    return {doc["kind"]: doc for path in MANIFESTS if path != REDIS for doc in _documents(path)}


def _redis() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in _documents(REDIS)}


def _dockerfile_user() -> tuple[int, int]:
    users = re.findall(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert len(users) == 1, "the Dockerfile must switch to one numeric user:group"
    return int(users[0][0]), int(users[0][1])


def _container() -> dict[str, Any]:
    containers = _resources()["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_each_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    documents = _documents(path)
    assert documents, f"{path.name} holds no resource"
    for doc in documents:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    deployment = _resources()["Deployment"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest_but_the_optional_ones() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = kustomization["resources"]
    assert all((KUBERNETES / name).is_file() for name in listed)
    assert set(listed) == {p.name for p in MANIFESTS} - OPTIONAL
    assert [image["name"] for image in kustomization["images"]] == [_container()["image"].split(":")[0]]


def test_selectors_and_references_point_at_what_the_manifests_define() -> None:
    r = _resources()
    pod = r["Deployment"]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    name = r["Deployment"]["metadata"]["name"]
    assert r["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert r["Service"]["spec"]["selector"].items() <= labels.items()
    assert r["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    target = r["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert pod["spec"]["serviceAccountName"] == r["ServiceAccount"]["metadata"]["name"]
    container = _container()
    assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == [
        r["ConfigMap"]["metadata"]["name"]
    ]
    secret_volumes = [v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v]
    assert secret_volumes == [r["Secret"]["metadata"]["name"]]
    backend = r["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == r["Service"]["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in r["Service"]["spec"]["ports"]}


def test_pods_run_as_the_images_non_root_user_with_nothing_writable_or_privileged() -> None:
    uid, gid = _dockerfile_user()
    pod = _resources()["Deployment"]["spec"]["template"]["spec"]
    assert uid != 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (uid, gid)
    assert pod["automountServiceAccountToken"] is False
    security = _container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = _container()["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"] and resources["limits"]["memory"]


def test_probes_use_the_servers_health_and_readiness_endpoints_on_its_port() -> None:
    container = _container()
    config = _resources()["ConfigMap"]["data"]
    (port,) = container["ports"]
    assert port["containerPort"] == int(config["TRUENAS_MCP_PORT"])
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}


def test_the_configmap_holds_only_real_settings_that_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _resources()
    data: dict[str, str] = r["ConfigMap"]["data"]
    unknown = set(data) - SERVER_FIELDS - CLIENT_VARS
    assert not unknown, f"settings nobody reads: {sorted(unknown)}"
    settings = _settings_from_env(monkeypatch, data)
    assert settings.stateless, "replicas behind one Service need TRUENAS_MCP_STATELESS=true"
    assert settings.host == "0.0.0.0"
    service = r["Service"]["metadata"]["name"]
    assert f"{service}:*" in settings.allowed_hosts
    grace = r["Deployment"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert settings.shutdown_grace_seconds < grace
    assert settings.auth == "jwt" and settings.jwt_audience and settings.jwt_audience.startswith("https://")
    # Every secret file setting names an entry of the Secret, at the path where the Deployment mounts it.
    (mount,) = [m for m in _container()["volumeMounts"] if m["name"] == "secrets"]
    files = {name: Path(value) for name, value in data.items() if name.endswith("_FILE")}
    assert {"TRUENAS_API_KEY_FILE", "TRUENAS_MCP_JWT_SECRET_FILE", "TRUENAS_MCP_CONFIRM_SECRET_FILE"} <= set(
        files
    )
    assert all(path.parent == Path(mount["mountPath"]) for path in files.values()), files
    assert {path.name for path in files.values()} == set(r["Secret"]["stringData"])
    key_file = tmp_path / files["TRUENAS_API_KEY_FILE"].name
    key_file.write_text("1-secret\n", encoding="utf-8")
    client = ClientConfig.from_env({**_client(data), "TRUENAS_API_KEY_FILE": str(key_file)})
    assert client.username == data["TRUENAS_USERNAME"]


def test_a_forgotten_secret_placeholder_stops_the_server_instead_of_becoming_a_key(tmp_path: Path) -> None:
    stored = _resources()["Secret"]["stringData"]
    for entry in ("jwt-signing-key", "confirm-key"):
        placeholder = tmp_path / entry
        placeholder.write_text(stored[entry], encoding="utf-8")
        with pytest.raises(SettingsError, match="at least 32"):
            read_secret(placeholder)
    password = tmp_path / "redis-password"
    password.write_text(stored["redis-password"], encoding="utf-8")
    with pytest.raises(SettingsError, match="at least 16"):
        open_store(ServerSettings(redis_url="redis://truenas-mcp-redis:6379/0", redis_password_file=password))


def test_replicas_share_a_password_protected_redis_that_only_the_server_reaches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, redis = _resources(), _redis()
    settings = _settings_from_env(monkeypatch, server["ConfigMap"]["data"])
    # More replicas may run than one: the server is told so and has the shared store.
    assert settings.replicas >= server["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] > 1
    assert server["PodDisruptionBudget"]["spec"]
    url = urlparse(settings.redis_url or "")
    (port,) = redis["Service"]["spec"]["ports"]
    assert (url.hostname, url.port) == (redis["Service"]["metadata"]["name"], port["port"])
    # No volume claim: nothing worth keeping lives in it, and nothing is persisted.
    statefulset = redis["StatefulSet"]["spec"]
    assert "volumeClaimTemplates" not in statefulset
    assert (
        statefulset["selector"]["matchLabels"].items()
        <= statefulset["template"]["metadata"]["labels"].items()
    )
    assert (
        redis["Service"]["spec"]["selector"].items() <= statefulset["template"]["metadata"]["labels"].items()
    )
    (container,) = statefulset["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    (env,) = container["env"]
    ref = env["valueFrom"]["secretKeyRef"]
    # The same Secret entry the server reads as TRUENAS_MCP_REDIS_PASSWORD_FILE.
    assert ref["name"] == server["Secret"]["metadata"]["name"]
    assert settings.redis_password_file is not None and ref["key"] == settings.redis_password_file.name
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Ingress to Redis only from the server's pods, only on the Redis port.
    policy = redis["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"] == statefulset["selector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    (source,) = rule["from"]
    assert source["podSelector"]["matchLabels"] == server["Deployment"]["spec"]["selector"]["matchLabels"]
    assert [p["port"] for p in rule["ports"]] == [port["targetPort"]]
    # Sessions: the server runs stateless, so the Service needs no affinity.
    assert settings.stateless and server["Service"]["spec"]["sessionAffinity"] == "None"


def _settings_from_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ServerSettings:
    """The server's settings as it reads them from exactly these environment variables."""
    for name in os.environ:
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name in SERVER_FIELDS:
            monkeypatch.setenv(name, value)
    return load_settings()


def _client(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k in CLIENT_VARS}


def test_the_compose_service_runs_the_image_read_only_with_the_key_as_a_secret_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    service = compose["services"]["truenas-mcp"]
    env: dict[str, str] = service["environment"]
    assert not set(env) - SERVER_FIELDS - CLIENT_VARS, "compose sets settings nobody reads"
    assert service["build"]["context"] == "."
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert set(service["secrets"]) == set(compose["secrets"])
    files = {value for name, value in env.items() if name.endswith("_FILE")}
    assert files == {f"/run/secrets/{secret}" for secret in compose["secrets"]}
    assert "TRUENAS_API_KEY" not in env and "TRUENAS_PASSWORD" not in env
    settings = _settings_from_env(monkeypatch, env)
    assert settings.stateless and settings.port == 8080 and settings.auth == "jwt"
    published = service["ports"][0]
    assert published.startswith("127.0.0.1:") and published.endswith(f":{settings.port}")
    # Its Redis is reachable by service name, password-protected with the secret both read, unpublished.
    redis = compose["services"]["redis"]
    assert urlparse(settings.redis_url or "").hostname == "redis" and "ports" not in redis
    assert settings.redis_password_file == Path("/run/secrets/redis_password")
    assert redis["secrets"] == ["redis_password"] and "--requirepass" in redis["command"][-1]
    assert redis["read_only"] is True and redis["cap_drop"] == ["ALL"]
