"""Writes the Kubernetes manifests of deploy/k8s/ (`make k8s`): one table of services, one set of conventions.

Four Deployments that differ only in name, size and secrets are generated rather than copied, so a change
(a probe, a security setting) lands in all of them; the city ConfigMap embeds the rule and profile files the
services ship, so the cluster runs the same rules as `make run` until an operator overlays their own.
`tests/unit/test_k8s.py` validates the output against a pinned Kubernetes version and fails if it is stale.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
NAMESPACE = "cityloop"
IMAGE = "cityloop"
"""Replaced by kustomize's `images:` (kustomization.yaml) with the registry and tag an operator builds."""
PORT = 8000
PARTITIONS = 12
"""Partitions per event topic: the most consumer replicas of one group that can do work at once, so the
HorizontalPodAutoscalers stop there."""
CITY_DIR = "/etc/cityloop/city"
USERS_DIR = "/etc/cityloop/users"
DATA_DIR = "/var/lib/cityloop"
CACHE_DIR = "/var/cache/cityloop"
UID = 10001

CITY_FILES = {
    # ConfigMap key: (source file, the setting that reads it)
    "rules.yaml": ("router/data/rules.yaml", "CITYLOOP_ROUTER_RULES_PATH"),
    "hotline_mapping.yaml": ("router/data/hotline_mapping.yaml", "CITYLOOP_ROUTER_HOTLINE_MAPPING_PATH"),
    "channel_categories.yaml": ("router/data/channel_categories.yaml", "CITYLOOP_ROUTER_CHANNEL_CATEGORIES_PATH"),
    "profiles.yaml": ("workflow/data/profiles.yaml", "CITYLOOP_WORKFLOW_PROFILES_PATH"),
    "scoring.yaml": ("analytics/data/scoring.yaml", "CITYLOOP_ANALYTICS_SCORING_PATH"),
    "video_algorithms.yaml": ("intake/data/video_algorithms.yaml", "CITYLOOP_INTAKE_VIDEO_ALGORITHMS_FILE"),
    "open311_services.yaml": ("intake/data/open311_services.yaml", "CITYLOOP_INTAKE_OPEN311_SERVICES_FILE"),
}
"""The city's rules and profiles. The district itself (cells.geojson is 1.5 MB, over a ConfigMap's 1 MiB)
stays in the image under deploy/demo/, or comes from a volume mounted at CITYLOOP_ROUTER_DISTRICT_DIR."""

ENV = {
    "CITYLOOP_ENVIRONMENT": "prod",
    "CITYLOOP_BUS": "kafka",
    "CITYLOOP_KAFKA_BOOTSTRAP": ",".join(f"kafka-{i}.kafka.kafka.svc:9092" for i in range(3)),
    "CITYLOOP_KAFKA_REPLICATION_FACTOR": "3",
    "CITYLOOP_HTTP_HOST": "0.0.0.0",
    "CITYLOOP_HTTP_PORT": str(PORT),
    "CITYLOOP_LOG_JSON": "true",
    "CITYLOOP_DATA_DIR": DATA_DIR,
    "CITYLOOP_MEDIA_DIR": f"{DATA_DIR}/media",
    "CITYLOOP_USERS_FILE": f"{USERS_DIR}/users.yaml",
    "CITYLOOP_ROUTER_MODEL_CACHE_DIR": f"{CACHE_DIR}/router",
    **{setting: f"{CITY_DIR}/{key}" for key, (_, setting) in CITY_FILES.items()},
}
"""Every process's non-secret settings (shared/settings.py and each package's config.py)."""

SECRETS = {
    # Secret key: (environment variable, placeholder). The placeholders are refused by production mode.
    "database-url": ("CITYLOOP_DATABASE_URL", "postgresql://cityloop:REPLACE-ME@postgres.cityloop.svc:5432/cityloop"),
    "jwt-secret": ("CITYLOOP_JWT_SECRET", "REPLACE-ME"),
    "api-keys": ("CITYLOOP_API_KEYS", "{}"),
    "pii-key": ("CITYLOOP_PII_KEY", "REPLACE-ME"),
    "hotline-hmac-secret": ("CITYLOOP_HOTLINE_HMAC_SECRET", "REPLACE-ME"),
    "wechat-token": ("CITYLOOP_WECHAT_TOKEN", "REPLACE-ME"),
    "wechat-aes-key": ("CITYLOOP_WECHAT_AES_KEY", ""),
    "wechat-app-id": ("CITYLOOP_WECHAT_APP_ID", ""),
}
"""Every process gets every secret: the settings are one object, which production mode checks whole at start-up."""


@dataclass(frozen=True)
class Service:
    name: str
    cpu: tuple[str, str]
    memory: tuple[str, str]
    media: bool = False


SERVICES = (
    Service("intake", cpu=("250m", "1"), memory=("256Mi", "512Mi"), media=True),
    # The router holds jieba's dictionary and the trained classifier in memory, and trains it at start-up
    # when the model cache is cold.
    Service("router", cpu=("500m", "1500m"), memory=("512Mi", "1Gi")),
    Service("workflow", cpu=("250m", "1"), memory=("256Mi", "512Mi")),
    Service("analytics", cpu=("250m", "1"), memory=("256Mi", "768Mi")),
)


def labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "cityloop",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "cityloop",
    }


def meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": labels(component), **extra}


def secret_env() -> list[dict[str, Any]]:
    return [
        {"name": env, "valueFrom": {"secretKeyRef": {"name": "cityloop-secrets", "key": key}}}
        for key, (env, _) in SECRETS.items()
    ]


SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": UID,
    "runAsGroup": UID,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def pod_spec(containers: list[dict[str, Any]], volumes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID},
        "automountServiceAccountToken": False,
        "containers": containers,
        "volumes": volumes,
        **extra,
    }


def common_volumes(media: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": "city", "configMap": {"name": "cityloop-city"}},
        {"name": "users", "secret": {"secretName": "cityloop-users"}},
        {"name": "data", "emptyDir": {}},
        {"name": "cache", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "city", "mountPath": CITY_DIR, "readOnly": True},
        {"name": "users", "mountPath": USERS_DIR, "readOnly": True},
        {"name": "data", "mountPath": DATA_DIR},
        {"name": "cache", "mountPath": CACHE_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if media:
        volumes.append({"name": "media", "persistentVolumeClaim": {"claimName": "cityloop-media"}})
        mounts.append({"name": "media", "mountPath": f"{DATA_DIR}/media"})
    return volumes, mounts


def container(
    name: str, args: list[str], mounts: list[dict[str, Any]], cpu: tuple[str, str], memory: tuple[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": IMAGE,
        "args": args,
        "envFrom": [{"configMapRef": {"name": "cityloop-env"}}],
        "env": secret_env(),
        "resources": {"requests": {"cpu": cpu[0], "memory": memory[0]}, "limits": {"cpu": cpu[1], "memory": memory[1]}},
        "securityContext": SECURITY,
        "volumeMounts": mounts,
    }


def deployment(svc: Service) -> list[dict[str, Any]]:
    volumes, mounts = common_volumes(svc.media)
    main = container(svc.name, ["run", svc.name, "--port", str(PORT)], mounts, svc.cpu, svc.memory)
    main["ports"] = [{"name": "http", "containerPort": PORT}]
    probe = {"port": "http"}
    main["startupProbe"] = {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 5, "failureThreshold": 60}
    main["livenessProbe"] = {
        "httpGet": {"path": "/healthz", **probe},
        "periodSeconds": 10,
        "timeoutSeconds": 3,
        "failureThreshold": 3,
    }
    main["readinessProbe"] = {
        "httpGet": {"path": "/readyz", **probe},
        "periodSeconds": 5,
        "timeoutSeconds": 3,
        "failureThreshold": 2,
    }
    # Endpoints are removed asynchronously: keep answering for a few seconds after the pod is told to stop.
    main["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    selector = {"app.kubernetes.io/name": "cityloop", "app.kubernetes.io/component": svc.name}
    template_meta = {
        "labels": labels(svc.name),
        "annotations": {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(PORT),
            "prometheus.io/path": "/metrics",
        },
    }
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector},
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(svc.name, svc.name),
            "spec": {
                "replicas": 3,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": template_meta,
                    "spec": pod_spec(
                        [main], volumes, terminationGracePeriodSeconds=40, topologySpreadConstraints=spread
                    ),
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(svc.name, svc.name),
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta(svc.name, svc.name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc.name},
                "minReplicas": 3,
                "maxReplicas": PARTITIONS,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(svc.name, svc.name),
            "spec": {"minAvailable": 2, "selector": {"matchLabels": selector}},
        },
    ]


def job(name: str, args: list[str]) -> dict[str, Any]:
    volumes, mounts = common_volumes(media=False)
    spec = pod_spec(
        [container(name, args, mounts, ("250m", "1"), ("256Mi", "512Mi"))], volumes, restartPolicy="OnFailure"
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(f"cityloop-{name}", name),
        "spec": {
            "backoffLimit": 4,
            "ttlSecondsAfterFinished": 3600,
            "template": {"metadata": {"labels": labels(name)}, "spec": spec},
        },
    }


def manifests() -> dict[str, list[dict[str, Any]]]:
    city = {key: (ROOT / source).read_text(encoding="utf-8") for key, (source, _) in CITY_FILES.items()}
    files: dict[str, list[dict[str, Any]]] = {
        "namespace.yaml": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels("namespace")}}
        ],
        "config.yaml": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cityloop-env", "config"), "data": ENV},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cityloop-city", "config"), "data": city},
        ],
        "secrets.yaml": [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": meta("cityloop-secrets", "config"),
                "type": "Opaque",
                "stringData": {key: placeholder for key, (_, placeholder) in SECRETS.items()},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": meta("cityloop-users", "config"),
                "type": "Opaque",
                "stringData": {
                    "users.yaml": "# username, scrypt password_hash, role, unit, name: see"
                    " deploy/demo/users.yaml for the format\nusers: []\n"
                },
            },
        ],
        "media.yaml": [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta("cityloop-media", "intake"),
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "50Gi"}}},
            },
        ],
        "jobs.yaml": [
            job("migrate", ["migrate", "all"]),
            job("topics", ["topics", "--partitions", str(PARTITIONS)]),
        ],
    }
    for svc in SERVICES:
        files[f"{svc.name}.yaml"] = deployment(svc)
    files["kustomization.yaml"] = [
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [name for name in files],
            "images": [{"name": IMAGE, "newTag": "0.1.0"}],
        }
    ]
    return files


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the embedded rule files) as literal blocks, readable in a diff; no YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)

HEADER = "# Generated by deploy/k8s/render.py (`make k8s`); edit that, or overlay with kustomize.\n"


def render() -> dict[str, str]:
    """File name -> text, exactly as written to deploy/k8s/."""
    return {
        name: HEADER + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
        for name, docs in manifests().items()
    }


def main() -> None:
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote deploy/k8s/{name}", file=sys.stderr)


if __name__ == "__main__":
    main()
