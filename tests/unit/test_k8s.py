"""The Kubernetes manifests (deploy/k8s/) and the image recipe (Containerfile) say what the code expects.

Kubernetes accepts a Deployment whose Secret key does not exist and starts it into CreateContainerConfigError,
and pydantic-settings ignores a misspelt CITYLOOP_ variable, so a manifest can be valid and still wrong: the
checks below resolve every reference and every setting name, besides the schema of a pinned Kubernetes.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from analytics.config import AnalyticsSettings
from intake.config import IntakeSettings
from router.config import RouterSettings
from services.cli import app as cli
from services.registry import SERVICES
from shared.settings import Settings
from workflow.config import WorkflowSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"
"""The oldest Kubernetes the manifests are checked against (docs/deploy.md); kubernetes-validate is pinned in
uv.lock, so the schemas do not move under the test."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SETTINGS_BY_PREFIX: list[tuple[str, type[BaseSettings]]] = [
    ("CITYLOOP_INTAKE_", IntakeSettings),
    ("CITYLOOP_ROUTER_", RouterSettings),
    ("CITYLOOP_WORKFLOW_", WorkflowSettings),
    ("CITYLOOP_ANALYTICS_", AnalyticsSettings),
    ("CITYLOOP_", Settings),
]


def _renderer() -> Any:
    spec = importlib.util.spec_from_file_location("k8s_render", K8S / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


@functools.cache
def load(directory: Path = K8S) -> dict[str, list[dict[str, Any]]]:
    """File name -> its objects, every manifest kustomization.yaml lists (read once; the tests only read them)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return {
        name: [d for d in yaml.load_all((directory / name).read_text(encoding="utf-8"), Loader=_LOADER) if d]
        for name in kustomization["resources"]
    }


def objects(kind: str | None = None) -> list[dict[str, Any]]:
    return [o for docs in load().values() for o in docs if kind is None or o["kind"] == kind]


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{o['kind']} {o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects()
        if o["kind"] in {"Deployment", "Job"}
    ]


def validation_errors(docs_by_file: dict[str, list[dict[str, Any]]]) -> list[str]:
    errors = []
    for name, docs in docs_by_file.items():
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                errors.append(f"{name}: {doc.get('kind')} {doc.get('metadata', {}).get('name')}: {path}: {exc.message}")
    return errors


def test_every_manifest_is_valid_for_the_pinned_kubernetes() -> None:
    docs = load()
    assert sum(len(d) for d in docs.values()) >= 20
    assert validation_errors(docs) == []


def test_a_broken_manifest_is_reported_with_its_file_and_field(tmp_path: Path) -> None:
    for path in K8S.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    for name, old, new in [
        ("router.yaml", "replicas: 3", "replicas: three"),
        ("workflow.yaml", "readinessProbe:", "readinessProbes:"),
    ]:  # a typo: strict mode
        path = tmp_path / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    errors = validation_errors(load(tmp_path))

    assert len(errors) == 2, errors
    assert errors[0].startswith("router.yaml: Deployment router: spec.replicas:"), errors
    assert errors[1].startswith("workflow.yaml: Deployment workflow: spec.template.spec.containers.0:"), errors
    assert "readinessProbes" in errors[1]


def test_manifests_are_what_render_py_writes_from_the_current_rules() -> None:
    rendered = _renderer().render()
    stale = [name for name, text in rendered.items() if (K8S / name).read_text(encoding="utf-8") != text]
    assert not stale, f"deploy/k8s/{', '.join(stale)} out of date with render.py or the rule files: run `make k8s`"


def test_every_service_runs_as_a_deployment_probed_scaled_and_protected() -> None:
    deployments = {o["metadata"]["name"]: o for o in objects("Deployment")}
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        spec = deployment["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        assert spec["replicas"] >= 3
        assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
        (container,) = spec["template"]["spec"]["containers"]
        assert container["args"][:2] == ["run", name]
        port = container["ports"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
        assert f"--port {port['containerPort']}" in " ".join(container["args"])
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)

        (hpa,) = [h for h in objects("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] >= 3
        (pdb,) = [
            p
            for p in objects("PodDisruptionBudget")
            if p["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        ]
        assert 0 < pdb["spec"]["minAvailable"] < spec["replicas"]
        (service,) = [s for s in objects("Service") if s["spec"]["selector"].items() <= pod_labels.items()]
        assert service["spec"]["ports"][0]["targetPort"] == port["name"]


def test_every_configmap_secret_and_volume_a_pod_names_exists_with_its_keys() -> None:
    keys = {
        (o["kind"], o["metadata"]["name"]): set(o.get("data", {})) | set(o.get("stringData", {}))
        for o in objects()
        if o["kind"] in {"ConfigMap", "Secret"}
    }
    claims = {o["metadata"]["name"] for o in objects("PersistentVolumeClaim")}
    missing = []
    for where, spec in pod_specs():
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for volume in spec.get("volumes", []):
            if "configMap" in volume and ("ConfigMap", volume["configMap"]["name"]) not in keys:
                missing.append(f"{where}: ConfigMap {volume['configMap']['name']}")
            if "secret" in volume and ("Secret", volume["secret"]["secretName"]) not in keys:
                missing.append(f"{where}: Secret {volume['secret']['secretName']}")
            if "persistentVolumeClaim" in volume and volume["persistentVolumeClaim"]["claimName"] not in claims:
                missing.append(f"{where}: PersistentVolumeClaim {volume['persistentVolumeClaim']['claimName']}")
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if field in source and (kind, source[field]["name"]) not in keys:
                        missing.append(f"{where}: {kind} {source[field]['name']}")
            for env in container.get("env", []):
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = env.get("valueFrom", {}).get(field)
                    if ref and ref["key"] not in keys.get((kind, ref["name"]), set()):
                        missing.append(f"{where}: {env['name']} from {kind} {ref['name']} key {ref['key']}")
            missing += [
                f"{where}: volume mount {m['name']}"
                for m in container.get("volumeMounts", [])
                if m["name"] not in volumes
            ]
    assert missing == []


def _environment(container: dict[str, Any]) -> dict[str, Any]:
    """Variable -> literal value or its valueFrom, with what envFrom brings in."""
    configmaps = {o["metadata"]["name"]: o["data"] for o in objects("ConfigMap")}
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps.get(source.get("configMapRef", {}).get("name"), {}))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def test_every_secret_setting_comes_from_a_secret_in_every_process() -> None:
    secret_settings = {
        f"CITYLOOP_{name.upper()}" for name, f in Settings.model_fields.items() if f.annotation is SecretStr
    } | {"CITYLOOP_DATABASE_URL", "CITYLOOP_API_KEYS"}
    assert {"CITYLOOP_JWT_SECRET", "CITYLOOP_PII_KEY", "CITYLOOP_HOTLINE_HMAC_SECRET"} <= secret_settings
    for where, spec in pod_specs():
        (container,) = spec["containers"]
        env = _environment(container)
        for name in sorted(secret_settings):
            assert isinstance(env.get(name), dict) and "secretKeyRef" in env[name], f"{where}: {name}"
    for configmap in objects("ConfigMap"):
        assert not secret_settings & set(configmap["data"]), configmap["metadata"]["name"]


def test_every_cityloop_variable_names_a_real_setting_and_every_city_file_is_mounted() -> None:
    """A misspelt variable would be ignored silently and the service would run on its default."""
    city = {o["metadata"]["name"]: o for o in objects("ConfigMap")}["cityloop-city"]
    for where, spec in pod_specs():
        (container,) = spec["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        for name, value in _environment(container).items():
            assert name.startswith("CITYLOOP_"), f"{where}: {name}"
            prefix, settings = next((p, s) for p, s in SETTINGS_BY_PREFIX if name.startswith(p))
            assert name.removeprefix(prefix).lower() in settings.model_fields, f"{where}: {name} is no setting"
            if isinstance(value, str) and value.startswith("/etc/cityloop/"):
                directory, file = value.rsplit("/", 1)
                volume = volumes[mounts[directory]]
                if "configMap" in volume:
                    assert volume["configMap"]["name"] == "cityloop-city"
                    assert file in city["data"], f"{where}: {name} names {file}, not in ConfigMap cityloop-city"
    used = {v.rsplit("/", 1)[1] for v in objects("ConfigMap")[0]["data"].values() if "/etc/cityloop/city/" in v}
    assert used == set(city["data"]), "a rule file in the ConfigMap that no setting reads"


def test_the_city_configmap_holds_files_the_services_accept() -> None:
    from analytics.config import ScoringConfig
    from workflow.config import Rules

    data = {o["metadata"]["name"]: o for o in objects("ConfigMap")}["cityloop-city"]["data"]
    Rules.model_validate(yaml.safe_load(data["profiles.yaml"]))
    ScoringConfig.model_validate(yaml.safe_load(data["scoring.yaml"]))
    assert sum(len(text.encode()) for text in data.values()) < 1024 * 1024, "a ConfigMap holds at most 1 MiB"


def _stack_commands() -> set[tuple[str, str]]:
    """The cityloop sub-commands deploy/stack.sh runs, as (command, first argument)."""
    found: set[tuple[str, str]] = set()
    for line in (ROOT / "deploy" / "stack.sh").read_text(encoding="utf-8").splitlines():
        match = re.search(r"\$BIN/cityloop (\S+) (\S+)", line)
        if match:
            found.add((match[1], match[2].strip('"')))
    return found


def test_the_cluster_runs_the_commands_make_stack_runs() -> None:
    commands = {c.name or c.callback.__name__ for c in cli.registered_commands if c.callback}
    stack = _stack_commands()
    assert {c for c, _ in stack} == {"migrate", "topics", "run"}
    cluster = set()
    for _, spec in pod_specs():
        (container,) = spec["containers"]
        assert container["args"][0] in commands
        cluster.add((container["args"][0], "$svc" if container["args"][0] == "run" else container["args"][1]))
    assert cluster == stack


def _containerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Containerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_containerfile_is_multi_stage_non_root_and_installs_only_from_the_lock() -> None:
    """No container engine runs on the development machines: the recipe's promises are read, not built."""
    steps = _containerfile()
    stages = [i for i, (op, _) in enumerate(steps) if op == "FROM"]
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    build, final = steps[stages[0] : stages[-1]], steps[stages[-1] :]

    runs = [args for op, args in build if op == "RUN"]
    installs = [r for r in runs if "pip install" in r or "uv " in r]
    assert all("uv sync --locked" in r or re.search(r"pip install .*\buv==", r) for r in installs), installs
    assert any(op == "COPY" and "uv.lock" in shlex.split(args) for op, args in build)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert makefile_uv and f"UV_VERSION={makefile_uv[1]}" in [a for op, a in build if op == "ARG"]

    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"0", "root"}, "the service must not run as root"
    entry = [args for op, args in final if op == "ENTRYPOINT"]
    assert entry and yaml.safe_load(entry[-1]) == ["cityloop"]

    env = dict(re.findall(r"(CITYLOOP_\w+)=(\S+)", " ".join(a for op, a in final if op == "ENV")))
    configmap = {o["metadata"]["name"]: o for o in objects("ConfigMap")}["cityloop-env"]["data"]
    for name, value in env.items():
        assert configmap.get(name, value) == value, f"{name}: the image and the cluster disagree"

    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".git", "var"} <= set(ignored), "a host .venv copied in would shadow the locked one"


@pytest.mark.parametrize("broken", ["USER root", "USER 0:0"])
def test_containerfile_check_refuses_root(broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _containerfile()
    patched = [(op, args) if op != "USER" else tuple(broken.split(None, 1)) for op, args in steps]
    monkeypatch.setattr(f"{__name__}._containerfile", lambda: patched)
    with pytest.raises(AssertionError, match="root"):
        test_containerfile_is_multi_stage_non_root_and_installs_only_from_the_lock()
