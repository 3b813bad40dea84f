"""Deployment from fake filesystem roots and environment mappings, one per platform."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from appsec_guard.detect.deployment import container_id_from_cgroup, detect_deployment

CID = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"


def _file(root: Path, rel: str, content: bytes = b"") -> Path:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _dep(env: Dict[str, str], root: Path) -> str:
    return detect_deployment(env, root)[0]


def test_host_when_nothing(tmp_path: Path) -> None:
    dep, evidence = detect_deployment({}, tmp_path)
    assert dep == "host"
    assert evidence[0].source == "no platform marker"


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_LAMBDA_FUNCTION_NAME": "fn"},
        {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"},
        {"LAMBDA_TASK_ROOT": "/var/task"},
    ],
)
def test_lambda(tmp_path: Path, env: Dict[str, str]) -> None:
    _file(tmp_path, "/.dockerenv")
    assert _dep({**env, "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path) == "lambda"


def test_lambda_evidence_shows_marker_value_but_not_function_name(tmp_path: Path) -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "billing-prod", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
    _, evidence = detect_deployment(env, tmp_path)
    text = [(e.source, e.detail) for e in evidence]
    assert ("env:AWS_EXECUTION_ENV", "AWS_Lambda_python3.12") in text
    assert all("billing-prod" not in d for _, d in text)


def test_fargate_beats_ecs_and_container(tmp_path: Path) -> None:
    _file(tmp_path, "/.dockerenv")
    env = {"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE", "ECS_CONTAINER_METADATA_URI_V4": "http://x"}
    assert _dep(env, tmp_path) == "fargate"


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_EXECUTION_ENV": "AWS_ECS_EC2"},
        {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"},
        {"ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/abc"},
    ],
)
def test_ecs(tmp_path: Path, env: Dict[str, str]) -> None:
    assert _dep({**env, "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path) == "ecs"


@pytest.mark.parametrize("value", ["AWS_ECS_", "AWS_ECS_\x00\xff junk" * 10, "AWS_ECS_fargate"])
def test_malformed_ecs_execution_env(tmp_path: Path, value: str) -> None:
    dep, evidence = detect_deployment({"AWS_EXECUTION_ENV": value}, tmp_path)
    assert dep == "ecs"
    assert "unrecognised" in evidence[0].detail


def test_unknown_execution_env_falls_through(tmp_path: Path) -> None:
    dep, evidence = detect_deployment({"AWS_EXECUTION_ENV": "AWS_EC2 ;rm -rf"}, tmp_path)
    assert dep == "host"
    assert "unrecognised value" in evidence[0].detail  # odd characters are not echoed


def test_kubernetes_by_env(tmp_path: Path) -> None:
    _file(tmp_path, "/.dockerenv")
    assert _dep({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, tmp_path) == "kubernetes"


def test_kubernetes_by_service_account(tmp_path: Path) -> None:
    _file(tmp_path, "/var/run/secrets/kubernetes.io/serviceaccount/token", b"secret-token")
    dep, evidence = detect_deployment({}, tmp_path)
    assert dep == "kubernetes"
    assert all("secret-token" not in e.detail for e in evidence)


def test_kubernetes_by_cgroup(tmp_path: Path) -> None:
    _file(tmp_path, "/proc/self/cgroup", f"1:cpu:/kubepods/burstable/pod1234/{CID}\n".encode())
    assert _dep({}, tmp_path) == "kubernetes"


def test_azure_functions(tmp_path: Path) -> None:
    # ddtrace asks for both variables (ddtrace 4.16.0: ddtrace/internal/serverless/__init__.py)
    env = {"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_EXTENSION_VERSION": "~4"}
    assert _dep(env, tmp_path) == "azure_functions"
    assert _dep({**env, "WEBSITE_SITE_NAME": "app"}, tmp_path) == "azure_functions"
    assert _dep({"FUNCTIONS_EXTENSION_VERSION": "~4"}, tmp_path) == "host"
    only_one = {"FUNCTIONS_WORKER_RUNTIME": "python", "WEBSITE_SITE_NAME": "app"}
    assert _dep(only_one, tmp_path) == "azure_app_service"


def test_azure_app_service(tmp_path: Path) -> None:
    _file(tmp_path, "/.dockerenv")
    assert _dep({"WEBSITE_SITE_NAME": "app"}, tmp_path) == "azure_app_service"


def test_cloud_run(tmp_path: Path) -> None:
    assert _dep({"K_SERVICE": "svc", "K_REVISION": "svc-0001"}, tmp_path) == "cloud_run"
    assert _dep({"K_SERVICE": "svc", "K_CONFIGURATION": "svc"}, tmp_path) == "cloud_run"
    assert _dep({"K_SERVICE": "svc"}, tmp_path) == "host"


def test_docker_by_dockerenv(tmp_path: Path) -> None:
    _file(tmp_path, "/.dockerenv")
    dep, evidence = detect_deployment({}, tmp_path)
    assert (dep, evidence[0].source) == ("docker", "file:/.dockerenv")


def test_podman_by_containerenv(tmp_path: Path) -> None:
    _file(tmp_path, "/run/.containerenv")
    assert _dep({}, tmp_path) == "docker"


@pytest.mark.parametrize(
    "line",
    [
        f"12:memory:/docker/{CID}",
        f"0::/system.slice/docker-{CID}.scope",
        f"0::/system.slice/containerd-{CID}.scope",
        "1:name=systemd:/ecs/55091c13b4b14b4b9d2a4d1e0b8f8c9a/55091c13b4b14b4b9d2a4d1e0b8f8c9a-1234",
    ],
)
def test_docker_by_cgroup(tmp_path: Path, line: str) -> None:
    _file(tmp_path, "/proc/self/cgroup", (line + "\n").encode())
    assert _dep({}, tmp_path) == "docker"


def test_docker_by_mountinfo_on_cgroup_v2(tmp_path: Path) -> None:
    _file(tmp_path, "/proc/self/cgroup", b"0::/\n")
    mount = f"1 2 0:3 /var/lib/docker/containers/{CID}/hostname /etc/hostname rw - ext4 x rw\n"
    _file(tmp_path, "/proc/self/mountinfo", mount.encode())
    dep, evidence = detect_deployment({}, tmp_path)
    assert dep == "docker"
    assert evidence[0].detail == f"container id {CID[:12]}"


def test_plain_host_cgroup_is_not_a_container(tmp_path: Path) -> None:
    _file(tmp_path, "/proc/self/cgroup", b"0::/user.slice/user-1000.slice/session-2.scope\n")
    assert container_id_from_cgroup("0::/init.scope\n") is None
    assert _dep({}, tmp_path) == "host"


def test_non_utf8_and_garbage_proc_files(tmp_path: Path) -> None:
    _file(tmp_path, "/proc/self/cgroup", b"\xff\xfe\x00garbage:::\n\x80" * 100)
    _file(tmp_path, "/proc/self/mountinfo", b"\xff" * 5000)
    assert _dep({}, tmp_path) == "host"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_proc_files(tmp_path: Path) -> None:
    path = _file(tmp_path, "/proc/self/cgroup", f"12:memory:/docker/{CID}\n".encode())
    path.chmod(0)
    try:
        assert _dep({}, tmp_path) == "host"
    finally:
        path.chmod(0o644)


def test_proc_path_that_is_a_directory_or_fifo(tmp_path: Path) -> None:
    (tmp_path / "proc/self/cgroup").mkdir(parents=True)
    os.mkfifo(tmp_path / "proc/self/mountinfo")  # opening it would block: must be skipped
    assert _dep({}, tmp_path) == "host"


def test_symlink_loops(tmp_path: Path) -> None:
    (tmp_path / "proc/self").mkdir(parents=True)
    os.symlink("mountinfo", tmp_path / "proc/self/cgroup")
    os.symlink("cgroup", tmp_path / "proc/self/mountinfo")
    os.symlink(".dockerenv", tmp_path / ".dockerenv")
    assert _dep({}, tmp_path) == "host"
