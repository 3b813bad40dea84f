"""A fleet signal through the Datadog Agent: one DogStatsD gauge per capability at boot.

Off by default; ``APPSEC_GUARD_METRICS=true`` turns it on. Each guard run that logs (the boot,
and a re-judgement after a framework import or the background Agent probe) sends, for every
capability of the report, ``appsec_guard.capability`` = 1 when it will work (supported or
beta, and the settings do not leave it off) and 0 when not (unsupported, unknown, or off),
tagged ``capability``, ``status``, ``active``, ``requested``, ``required`` and the process's
``service``, ``env``, ``version``.

The address is the Agent's DogStatsD address as ddtrace resolves it (ddtrace 4.16.0:
ddtrace/internal/settings/_agent.py ``_derive_stats_url`` and ddtrace/internal/dogstatsd.py):
``DD_DOGSTATSD_URL`` (``udp://host:port``, ``unix:///path``, a bare ``/path`` is a socket, a
bare ``host:port`` is UDP); else, when ``DD_DOGSTATSD_HOST``/``DD_AGENT_HOST`` or
``DD_DOGSTATSD_PORT``/``DD_AGENT_PORT`` is set, ``udp://HOST:PORT`` (host default localhost,
port default 8125; the DOGSTATSD variables win); else the socket
``/var/run/datadog/dsd.socket`` if it exists; else ``udp://localhost:8125``. (ddtrace 2.9.0,
ddtrace/internal/agent.py ``get_stats_url``, preferred ``DD_AGENT_HOST`` over
``DD_DOGSTATSD_HOST`` when both were set, and did not read ``DD_AGENT_PORT``.)

Fire and forget: non-blocking datagram sockets; a host name that needs resolving is resolved
and sent to in a daemon thread, so DNS never holds up the boot. Nothing here raises; a
malformed address is one line on stderr.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
from typing import Any, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlparse

from .model import Active, Finding, Report, Severity, Status

VARIABLE = "APPSEC_GUARD_METRICS"
METRIC = "appsec_guard.capability"
DEFAULT_SOCKET = "/var/run/datadog/dsd.socket"
DEFAULT_PORT = 8125
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_WORKS = (Status.SUPPORTED, Status.BETA)

Address = Union[
    Tuple[str, Tuple[str, int]], Tuple[str, str]
]  # ("udp", (host, port)) | ("unix", path)

_last_thread: Optional[threading.Thread] = None


class AddressError(ValueError):
    """A DogStatsD address that cannot be used."""


def setting(environ: Optional[Mapping[str, str]] = None) -> Tuple[bool, Optional[Finding]]:
    """Whether ``APPSEC_GUARD_METRICS`` turns the gauges on; a malformed value is AG700."""
    env = os.environ if environ is None else environ
    raw = env.get(VARIABLE, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True, None
    if value in _FALSE:
        return False, None
    shown = raw if len(raw) <= 40 else raw[:40] + "..."
    return False, Finding(
        "AG700",
        Severity.WARNING,
        None,
        f"{VARIABLE}={shown!r} is not true or false; no metrics are sent",
        f"set {VARIABLE}=true to send the appsec_guard.capability gauges, or unset it",
    )


def _port(env: Mapping[str, str], name: str) -> Optional[int]:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise AddressError(f"{name}={raw!r} is not a port number")
    return int(raw)


def dogstatsd_address(
    environ: Optional[Mapping[str, str]] = None, socket_exists: Optional[bool] = None
) -> Address:
    """Where ddtrace would send DogStatsD metrics. Raises AddressError for a malformed one."""
    env = os.environ if environ is None else environ
    url = env.get("DD_DOGSTATSD_URL", "").strip()
    if url:
        if url.startswith("/"):
            url = "unix://" + url
        elif "://" not in url:
            url = "udp://" + url
        parsed = urlparse(url)
        if parsed.scheme == "unix" and parsed.path:
            return ("unix", parsed.path)
        if parsed.scheme == "udp":
            try:
                port = parsed.port
            except ValueError:
                raise AddressError(f"DD_DOGSTATSD_URL={url!r} has a bad port") from None
            if parsed.hostname:
                return ("udp", (parsed.hostname, DEFAULT_PORT if port is None else port))
        raise AddressError(f"DD_DOGSTATSD_URL={url!r} is not udp://HOST:PORT or unix:///PATH")
    host = env.get("DD_DOGSTATSD_HOST") or env.get("DD_AGENT_HOST")
    port = _port(env, "DD_DOGSTATSD_PORT") or _port(env, "DD_AGENT_PORT")
    if host or port:
        return ("udp", (host or "localhost", port or DEFAULT_PORT))
    if os.path.exists(DEFAULT_SOCKET) if socket_exists is None else socket_exists:
        return ("unix", DEFAULT_SOCKET)
    return ("udp", ("localhost", DEFAULT_PORT))


def _tag(value: object) -> str:
    """A DogStatsD tag value: lower-case text without the protocol's separators."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "".join("_" if c in ",|#\n\r" else c for c in text)


def datagrams(report: Report, tags: Mapping[str, Optional[str]]) -> List[bytes]:
    """One gauge per capability, in the DogStatsD datagram format."""
    common = [f"{k}:{_tag(v)}" for k, v in tags.items() if v]
    out = []
    for v in report.verdicts:
        # 0 as well when the settings leave it off: it will not work in this process either
        value = 1 if v.status in _WORKS and v.active is not Active.OFF else 0
        own = [
            f"capability:{_tag(v.capability)}",
            f"status:{v.status.value}",
            f"requested:{_tag(v.requested)}",
            f"required:{_tag(v.required)}",
        ]
        if v.active is not None:
            own.append(f"active:{v.active.value}")
        out.append(f"{METRIC}:{value}|g|#{','.join(own + common)}".encode())
    return out


def _send(address: Address, payloads: List[bytes]) -> None:
    kind, target = address
    family = socket.AF_UNIX if kind == "unix" else socket.AF_INET
    if kind == "udp":
        assert isinstance(target, tuple)
        info = socket.getaddrinfo(target[0], target[1], 0, socket.SOCK_DGRAM)
        family, _, _, _, sockaddr = info[0]
        dest: Any = sockaddr
    else:
        dest = target
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # a full Agent buffer drops the gauge; it never waits
        for payload in payloads:
            with contextlib.suppress(OSError):
                sock.sendto(payload, dest)


def _needs_resolving(address: Address) -> bool:
    if address[0] != "udp":
        return False
    host = address[1][0] if isinstance(address[1], tuple) else ""
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return True


def send_report(
    report: Report, environ: Optional[Mapping[str, str]] = None
) -> Optional[threading.Thread]:
    """Send the gauges for ``report`` when ``APPSEC_GUARD_METRICS`` is on. Never raises.

    Returns the daemon thread when a host name is resolved off the caller's thread."""
    global _last_thread
    try:
        on, _ = setting(environ)
        if not on:
            return None
        from .tags import unified_service_tags

        try:
            address = dogstatsd_address(environ)
        except AddressError as exc:
            with contextlib.suppress(Exception):
                sys.stderr.write(f"appsec_guard: metrics not sent: {exc}\n")
            return None
        payloads = datagrams(report, unified_service_tags(environ))
        if not _needs_resolving(address):
            with contextlib.suppress(OSError):
                _send(address, payloads)
            return None

        def send() -> None:
            with contextlib.suppress(Exception):
                _send(address, payloads)

        thread = threading.Thread(target=send, name="appsec-guard-metrics", daemon=True)
        thread.start()
        _last_thread = thread
        return thread
    except Exception:
        return None


def wait(timeout: float = 5.0) -> None:
    """Wait (bounded) for the last background send: for tests and short-lived processes."""
    thread = _last_thread
    if thread is not None:
        thread.join(timeout)
