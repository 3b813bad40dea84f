"""Where the process runs: AWS Lambda, Fargate, ECS, Kubernetes, a container, or a host.

Pure over an environment mapping and a filesystem root (``/`` outside tests). The most
specific platform wins: Lambda > Fargate > ECS > Kubernetes > (Azure Functions, Azure App
Service, Cloud Run) > container > host. Evidence names the variable or file that decided;
values are shown only for harmless markers (``AWS_EXECUTION_ENV``), never for anything else.

Markers, checked against ddtrace's own detection and the platforms' documentation:

- Lambda: ``AWS_LAMBDA_FUNCTION_NAME`` (ddtrace/internal/serverless/__init__.py,
  ``in_aws_lambda``), ``AWS_EXECUTION_ENV=AWS_Lambda_<runtime>`` and ``LAMBDA_TASK_ROOT``
  (AWS Lambda's documented reserved runtime variables).
- Fargate / ECS: ``AWS_EXECUTION_ENV`` is ``AWS_ECS_FARGATE`` or ``AWS_ECS_EC2``; the ECS agent
  sets ``ECS_CONTAINER_METADATA_URI_V4`` (``ECS_CONTAINER_METADATA_URI`` for v3) in every task.
- Kubernetes: ``KUBERNETES_SERVICE_HOST`` (set in every pod), the service-account mount
  ``/var/run/secrets/kubernetes.io/serviceaccount/token``, ``kubepods`` in the cgroup path.
- Containers: ``/.dockerenv`` (Docker), ``/run/.containerenv`` (Podman), a container id in
  ``/proc/self/cgroup``: ddtrace/internal/runtime/container.py (v4.x, ``CGroupInfo``) matches
  the last path segment against a 64-hex id, a UUID or an ECS task id ``<32 hex>-<digits>``,
  with an optional ``.scope`` suffix; with cgroup v2 (``0::/``) the id is only in
  ``/proc/self/mountinfo`` (``/docker/containers/<64 hex>/``,
  ``/containers/overlay-containers/<64 hex>/`` for Podman).
- Azure Functions: ``FUNCTIONS_WORKER_RUNTIME`` and ``FUNCTIONS_EXTENSION_VERSION``, both
  (ddtrace/internal/serverless/__init__.py, ``in_azure_function``); Azure App Service:
  ``WEBSITE_SITE_NAME`` without them; Cloud Run: ``K_SERVICE`` with ``K_REVISION`` or
  ``K_CONFIGURATION`` (Knative's contract, which Cloud Run implements).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from ..model import Evidence, Fact
from ._io import exists, read_text, under

_FACT = "deployment"

K8S_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
DOCKERENV = "/.dockerenv"
CONTAINERENV = "/run/.containerenv"
CGROUP = "/proc/self/cgroup"
MOUNTINFO = "/proc/self/mountinfo"

# ddtrace/internal/runtime/container.py (v4.x): UUID_SOURCE_PATTERN, CONTAINER_SOURCE_PATTERN,
# TASK_PATTERN, CONTAINER_RE (the last segment of a cgroup path).
_UUID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"
_CONTAINER_SEGMENT = re.compile(rf"(?:.+)?({_UUID}|[0-9a-f]{{64}}|[0-9a-f]{{32}}-\d+)(?:\.scope)?$")
_CGROUP_LINE = re.compile(r"^(\d+):([^:]*):(.+)$")
_RUNTIME_WORDS = ("docker", "containerd", "kubepods", "libpod", "crio")
_MOUNT_WORDS = ("/docker/containers/", "/overlay-containers/", "/containerd/", "/kubelet/pods/")
_MOUNT_ID = (  # compiled when a mount names one of _MOUNT_WORDS
    r"/(?:docker/containers|containers/overlay-containers|containerd/[^/]+/[^/]+|"
    r"kubelet/pods)/([0-9a-f]{64}|[0-9a-f-]{36})/"
)
# compiled (by re's cache) when there is a value to show: AWS_EXECUTION_ENV is unset off AWS
_SAFE_VALUE = r"^[A-Za-z0-9_.:-]{0,64}$"


def detect_deployment(env: Mapping[str, str], root: Path) -> Fact:
    """The deployment type (see :data:`appsec_guard.model.DEPLOYMENTS`) and its evidence."""
    return Fact.of(*_deployment(env, root))


def _deployment(env: Mapping[str, str], root: Path) -> Tuple[str, List[Evidence]]:
    execution_env = env.get("AWS_EXECUTION_ENV", "")
    shown = _show(execution_env)

    lambda_ev = []
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        lambda_ev.append(Evidence(_FACT, "env:AWS_LAMBDA_FUNCTION_NAME", "set"))
    if execution_env.startswith("AWS_Lambda_"):
        lambda_ev.append(Evidence(_FACT, "env:AWS_EXECUTION_ENV", shown))
    if env.get("LAMBDA_TASK_ROOT"):
        lambda_ev.append(Evidence(_FACT, "env:LAMBDA_TASK_ROOT", "set"))
    if lambda_ev:
        return "lambda", lambda_ev

    if execution_env == "AWS_ECS_FARGATE":
        return "fargate", [Evidence(_FACT, "env:AWS_EXECUTION_ENV", shown)]
    ecs_ev = []
    if execution_env == "AWS_ECS_EC2":
        ecs_ev.append(Evidence(_FACT, "env:AWS_EXECUTION_ENV", shown))
    elif execution_env.startswith("AWS_ECS_"):
        # An ECS launch type this guard does not know: ECS, but not provably Fargate.
        ecs_ev.append(
            Evidence(_FACT, "env:AWS_EXECUTION_ENV", f"{shown} (unrecognised ECS launch type)")
        )
    for name in ("ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI"):
        if env.get(name):
            ecs_ev.append(Evidence(_FACT, f"env:{name}", "set"))
    if ecs_ev:
        return "ecs", ecs_ev
    other: List[Evidence] = []
    if execution_env:
        other.append(
            Evidence(_FACT, "env:AWS_EXECUTION_ENV", f"{shown} (not a Lambda or ECS value)")
        )

    cgroup = read_text(under(root, CGROUP))
    k8s_ev = []
    if env.get("KUBERNETES_SERVICE_HOST"):
        k8s_ev.append(Evidence(_FACT, "env:KUBERNETES_SERVICE_HOST", "set"))
    if exists(under(root, K8S_TOKEN)):
        k8s_ev.append(Evidence(_FACT, f"file:{K8S_TOKEN}", "exists"))
    if cgroup is not None and "kubepods" in cgroup:
        k8s_ev.append(Evidence(_FACT, f"file:{CGROUP}", "kubepods cgroup"))
    if k8s_ev:
        return "kubernetes", other + k8s_ev

    # both, as ddtrace's in_azure_function asks (ddtrace 4.16.0: ddtrace/internal/serverless/__init__.py)
    if env.get("FUNCTIONS_WORKER_RUNTIME") and env.get("FUNCTIONS_EXTENSION_VERSION"):
        names = ["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"]
        return "azure_functions", other + [Evidence(_FACT, f"env:{n}", "set") for n in names]
    if env.get("WEBSITE_SITE_NAME"):
        return "azure_app_service", [*other, Evidence(_FACT, "env:WEBSITE_SITE_NAME", "set")]
    if env.get("K_SERVICE") and (env.get("K_REVISION") or env.get("K_CONFIGURATION")):
        second = "K_REVISION" if env.get("K_REVISION") else "K_CONFIGURATION"
        return "cloud_run", [
            *other,
            Evidence(_FACT, "env:K_SERVICE", "set"),
            Evidence(_FACT, f"env:{second}", "set"),
        ]

    container_ev = []
    if exists(under(root, DOCKERENV)):
        container_ev.append(Evidence(_FACT, f"file:{DOCKERENV}", "exists"))
    if exists(under(root, CONTAINERENV)):
        container_ev.append(Evidence(_FACT, f"file:{CONTAINERENV}", "exists"))
    if cgroup is not None:
        found = container_id_from_cgroup(cgroup)
        if found:
            container_ev.append(Evidence(_FACT, f"file:{CGROUP}", found))
    mountinfo = read_text(under(root, MOUNTINFO))
    if mountinfo is not None:
        # (the words first: compiling the expression costs more than reading the file)
        hint = any(w in mountinfo for w in _MOUNT_WORDS)
        match = re.search(_MOUNT_ID, mountinfo) if hint else None
        if match:
            container_ev.append(
                Evidence(_FACT, f"file:{MOUNTINFO}", f"container id {match.group(1)[:12]}")
            )
    if container_ev:
        return "docker", other + container_ev
    return "host", [
        *other,
        Evidence(_FACT, "no platform marker", "no Lambda, ECS, Kubernetes or container marker"),
    ]


def container_id_from_cgroup(text: str) -> Optional[str]:
    """A short description of the container marker in a ``/proc/self/cgroup`` text, or None."""
    for line in text.splitlines()[:256]:
        match = _CGROUP_LINE.match(line.strip())
        if not match:
            continue
        path = match.group(3)
        segment = path.rstrip("/").rsplit("/", 1)[-1]
        found = _CONTAINER_SEGMENT.match(segment)
        if found:
            return f"container id {found.group(1)[:12]}"
        words = [w for w in _RUNTIME_WORDS if w in path]
        if words:
            return f"{words[0]} cgroup"
    return None


def _show(value: str) -> str:
    """A harmless marker's value, or a description of it when it looks like anything else."""
    if not value or re.match(_SAFE_VALUE, value):  # "" matches: the expression is not needed
        return value
    return f"unrecognised value ({len(value)} characters)"
