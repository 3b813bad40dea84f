"""Named scenarios: the environment of a real deployment, and the outcome the README documents.

A scenario sets only what that deployment sets (the platform's variables, the app's ``DD_*``
settings, the Datadog Agent it can reach); every fact is then detected for real by the guard in
the demo app, with the ddtrace that is installed. The expected outcomes hold for the ddtrace the
``test`` extra installs (the newest release; checked with 4.x); on an older ddtrace the
verdicts can differ, and the guard says why (``--check`` then reports the difference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple

WEB_APPS = ("django", "flask")
LAMBDA_APPS = ("lambda", "lambda-redirect")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    apps: Tuple[str, ...]  # the apps it runs; the first is the default
    env: Dict[str, str]
    # the Datadog Agent the app can reach: "test-agent" (ddapm-test-agent started on loopback),
    # "down" (a loopback port where nothing listens: the sidecar is not up yet), "none"
    agent: str
    deployment: str
    remote_config: str
    # error findings expected in warn mode (exactly these), and the capabilities they fail
    errors: Tuple[str, ...] = ()
    failed: Tuple[str, ...] = ()
    supported: Tuple[str, ...] = ()  # capabilities the guard must find supported
    outcome: str = ""  # one line for the README and the runner
    notes: Tuple[str, ...] = field(default=())

    @property
    def strict_refuses(self) -> bool:
        return bool(self.failed)


SCENARIOS: Dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            name="fargate-sca",
            title="AWS Fargate with Software Composition Analysis on, the Agent sidecar not up yet",
            apps=WEB_APPS,
            env={
                "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
                "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/demo-task",
                "AWS_REGION": "us-east-1",
                "DD_APPSEC_SCA_ENABLED": "true",
                "APPSEC_GUARD_REQUIRE": "sca",
            },
            agent="down",
            deployment="fargate",
            remote_config="unknown",
            supported=("sca",),
            outcome="SCA is supported on Fargate (it does not need Remote Configuration): "
            "warn and strict both boot and serve",
        ),
        Scenario(
            name="lambda-sca-blocking",
            title="AWS Lambda asking for SCA and Threat Protection (blocking)",
            apps=LAMBDA_APPS,
            env={
                "AWS_LAMBDA_FUNCTION_NAME": "demo-fn",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_REGION": "us-east-1",
                "DD_APPSEC_ENABLED": "true",
                "DD_APPSEC_SCA_ENABLED": "true",
                # DD_APPSEC_ENABLED=true asks for detection; blocking is asked for here
                "APPSEC_GUARD_REQUIRE": "threat_protection",
            },
            agent="none",
            deployment="lambda",
            remote_config="unavailable",
            errors=("AG400", "AG501"),
            failed=("sca", "threat_protection"),
            supported=("threat_detection",),
            outcome="AG400 (no SCA on Lambda) and AG501 (no Remote Configuration, so no "
            "blocking): warn logs them once at the cold start and answers every invocation; "
            "strict fails the init (Runtime API init error GuardError)",
        ),
        Scenario(
            name="k8s-rc-off",
            title="Kubernetes with Remote Configuration turned off, and blocking asked for",
            apps=("flask", "django"),
            env={
                "KUBERNETES_SERVICE_HOST": "10.96.0.1",
                "KUBERNETES_SERVICE_PORT": "443",
                "DD_APPSEC_ENABLED": "true",
                "DD_REMOTE_CONFIGURATION_ENABLED": "false",
                "APPSEC_GUARD_REQUIRE": "threat_protection",
            },
            agent="none",
            deployment="kubernetes",
            remote_config="disabled",
            errors=("AG500",),
            failed=("threat_protection",),
            supported=("threat_detection",),
            outcome="AG500 (Threat Protection needs Remote Configuration, which "
            "DD_REMOTE_CONFIGURATION_ENABLED turns off): warn logs it and serves; strict "
            "refuses to boot (GuardError / ImproperlyConfigured)",
        ),
        Scenario(
            name="docker-healthy",
            title="Docker with AppSec, SCA and blocking, the Agent offering Remote Configuration",
            apps=("django", "flask"),
            env={
                "DD_APPSEC_ENABLED": "true",
                "DD_APPSEC_SCA_ENABLED": "true",
                "APPSEC_GUARD_REQUIRE": "threat_protection",
            },
            agent="test-agent",
            deployment="docker",
            remote_config="enabled",
            supported=("threat_detection", "threat_protection", "sca"),
            outcome="every requested capability supported, Remote Configuration enabled (a "
            "real ddapm-test-agent): warn and strict both boot and serve",
            notes=(
                "the deployment is detected from this machine: docker inside a container "
                "(/.dockerenv, /run/.containerenv or a container cgroup), host outside one; "
                "both support every capability asked for here",
            ),
        ),
    ]
}
