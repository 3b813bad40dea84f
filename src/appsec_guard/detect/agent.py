"""Remote Configuration: is it on in ddtrace, and does the Datadog Agent offer it?

The Agent is found the way ddtrace finds it (ddtrace/internal/settings/_agent.py, v4.x,
``_derive_trace_url``; ddtrace/settings/config.py in 1.x/2.x): ``DD_TRACE_AGENT_URL`` (http,
https or unix) wins; else ``DD_TRACE_AGENT_HOSTNAME`` / ``DD_AGENT_HOST`` and
``DD_TRACE_AGENT_PORT`` / ``DD_AGENT_PORT`` give ``http://host:port`` (localhost and 8126 for
the missing half); else the Unix socket ``/var/run/datadog/apm.socket`` if it exists; else
``http://localhost:8126``. The Agent lists ``/v0.7/config`` among the ``endpoints`` of its
``GET /info`` answer when its Remote Configuration is on.

The probe is one ``GET /info`` with a hard deadline over everything (name resolution, connect,
TLS, send, receive), run in a daemon thread so that even a blocking DNS lookup cannot hold the
app's boot; it follows no redirect, reads at most :attr:`ProbeOptions.max_bytes`, and never
raises. Only the stdlib is used.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Mapping, Tuple
from urllib.parse import urlsplit

from ..model import Evidence, Fact, Finding, RemoteConfig, Severity
from ._io import exists, under

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # the same frozen classes, defined without exec (see _frozen.py)
    from .._frozen import dataclass

DEFAULT_TIMEOUT = 0.25
DEFAULT_MAX_BYTES = 64 * 1024
DEFAULT_SOCKET = "/var/run/datadog/apm.socket"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8126
RC_ENDPOINT = "/v0.7/config"

_FACT = "remote_config"
# A DNS name, an IPv4 address, or an IPv6 address (bracketed or not); compiled on first use
# (only a DD_AGENT_HOST-style variable is checked with it).
_HOST = r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[?[0-9A-Fa-f:.]+(?:%\w+)?\]?)$"


@dataclass(frozen=True)
class ProbeOptions:
    """How the guard asks the Agent: ``enabled=False`` never touches the network."""

    timeout: float = DEFAULT_TIMEOUT  # seconds, for the whole probe
    max_bytes: int = DEFAULT_MAX_BYTES
    enabled: bool = True


@dataclass(frozen=True)
class AgentAddress:
    scheme: str  # "http", "https" or "unix"
    host: str  # host name or address; the socket path for "unix"
    port: int  # 0 for "unix"
    source: str  # which setting decided, for the evidence

    @property
    def display(self) -> str:
        """The address without credentials, for evidence and messages."""
        if self.scheme == "unix":
            return f"unix://{self.host}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class AddressError(ValueError):
    """A DD_* agent setting ddtrace could not use; the message never holds credentials."""


def agent_address(env: Mapping[str, str], root: Path = Path("/")) -> AgentAddress:
    """Where ddtrace would send traces. Raises AddressError for a malformed setting."""
    url = env.get("DD_TRACE_AGENT_URL", "").strip()
    if url:
        return _parse_url(url)
    host_var = next((n for n in ("DD_TRACE_AGENT_HOSTNAME", "DD_AGENT_HOST") if env.get(n)), None)
    port_var = next((n for n in ("DD_TRACE_AGENT_PORT", "DD_AGENT_PORT") if env.get(n)), None)
    if host_var or port_var:
        host = env[host_var].strip() if host_var else DEFAULT_HOST
        if host_var and not re.match(_HOST, host):
            # ddtrace pastes it into http://HOST:PORT: a URL, a path or credentials here break
            raise AddressError(
                f"{host_var} is not a host name or address (a URL belongs in DD_TRACE_AGENT_URL)"
            )
        port = DEFAULT_PORT
        if port_var:
            try:
                port = int(env[port_var].strip())
            except ValueError:
                raise AddressError(f"{port_var} is not a port number") from None
            if not 0 < port < 65536:
                raise AddressError(f"{port_var} is not a port number (1-65535)")
        source = " + ".join(f"env:{n}" for n in (host_var, port_var) if n)
        return AgentAddress("http", host.strip("[]"), port, source)
    sock = under(root, DEFAULT_SOCKET)
    if exists(sock):
        return AgentAddress("unix", str(sock), 0, f"file:{DEFAULT_SOCKET}")
    return AgentAddress("http", DEFAULT_HOST, DEFAULT_PORT, "default")


def _parse_url(url: str) -> AgentAddress:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "unix":
            path = parts.path or parts.netloc
            if not path:
                raise AddressError("DD_TRACE_AGENT_URL has no socket path")
            return AgentAddress("unix", path, 0, "env:DD_TRACE_AGENT_URL")
        if scheme not in ("http", "https"):
            raise AddressError(
                f"DD_TRACE_AGENT_URL scheme {scheme or '(none)'!r} is not http, https or unix"
            )
        host = parts.hostname
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as exc:
        if isinstance(exc, AddressError):
            raise
        raise AddressError("DD_TRACE_AGENT_URL is not a valid URL") from None
    if not host:
        raise AddressError("DD_TRACE_AGENT_URL has no host")
    default_port = 443 if scheme == "https" else 80
    return AgentAddress(scheme, host, port or default_port, "env:DD_TRACE_AGENT_URL")


# --- the probe -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    status: RemoteConfig
    detail: str


def probe(
    address: AgentAddress,
    options: ProbeOptions = ProbeOptions(),  # noqa: B008 (frozen)
) -> ProbeResult:
    """Ask the Agent's ``/info`` within ``options.timeout`` seconds. Never raises.

    A host name is resolved in a daemon thread, because no timeout bounds a DNS lookup. An IP
    address or a Unix socket needs none: connect, send and receive each wait at most until the
    deadline, so the probe runs in the caller's thread (starting a thread costs more than a
    refused connection)."""
    box: List[ProbeResult] = []
    deadline = time.monotonic() + max(0.0, options.timeout)
    if address.scheme == "unix" or _ip_literal(address.host):
        try:
            return _ask(address, deadline, options.max_bytes)
        except Exception as exc:
            return ProbeResult(RemoteConfig.UNKNOWN, _describe(exc))

    def run() -> None:
        try:
            box.append(_ask(address, deadline, options.max_bytes))
        except BaseException as exc:  # the thread must not die loudly
            box.append(ProbeResult(RemoteConfig.UNKNOWN, _describe(exc)))

    worker = threading.Thread(target=run, name="appsec-guard-agent-probe", daemon=True)
    try:
        worker.start()
        worker.join(max(0.0, options.timeout) + 0.05)
    except Exception as exc:  # e.g. no threads left
        return ProbeResult(RemoteConfig.UNKNOWN, _describe(exc))
    if box:
        return box[0]
    return ProbeResult(RemoteConfig.UNKNOWN, f"no answer within {options.timeout:g} s")


def _ip_literal(host: str) -> bool:
    """An IPv4 or IPv6 address (bracketed or not): nothing to resolve."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    for family in (socket.AF_INET, getattr(socket, "AF_INET6", None)):
        if family is None:
            continue
        try:
            socket.inet_pton(family, bare)
        except (OSError, ValueError):  # ValueError: a NUL in the text
            continue
        return True
    return False


class _Deadline(Exception):
    pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline()
    return left


def _ask(address: AgentAddress, deadline: float, max_bytes: int) -> ProbeResult:
    try:
        raw = _fetch_info(address, deadline, max_bytes)
    except _Deadline:
        return ProbeResult(RemoteConfig.UNKNOWN, "no answer within the deadline")
    except _TooLarge:
        return ProbeResult(RemoteConfig.UNKNOWN, "the /info answer is larger than the size cap")
    except socket.timeout:
        return ProbeResult(RemoteConfig.UNKNOWN, "no answer within the deadline")
    except ConnectionRefusedError:
        return ProbeResult(RemoteConfig.UNKNOWN, "connection refused: no Agent listening")
    except FileNotFoundError:
        return ProbeResult(RemoteConfig.UNKNOWN, "the Agent's socket does not exist")
    except OSError as exc:  # ssl.SSLError is an OSError
        return ProbeResult(RemoteConfig.UNKNOWN, _describe(exc))
    return interpret(raw, max_bytes)


def _fetch_info(address: AgentAddress, deadline: float, max_bytes: int) -> bytes:
    sock: socket.socket
    if address.scheme == "unix":
        if not hasattr(socket, "AF_UNIX"):
            raise OSError("Unix sockets are not available on this platform")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(address.host)
        except BaseException:
            sock.close()
            raise
        host_header = "localhost"
    else:
        sock = socket.create_connection(
            (_host_arg(address.host), address.port),  # type: ignore[arg-type]
            timeout=_remaining(deadline),
        )
        host_header = (
            f"[{address.host}]:{address.port}"
            if ":" in address.host
            else f"{address.host}:{address.port}"
        )
        if address.scheme == "https":
            import ssl  # only for https: ~6 ms of import for an app that never uses it

            try:
                context = ssl.create_default_context()
                sock.settimeout(_remaining(deadline))
                sock = context.wrap_socket(sock, server_hostname=address.host)
            except BaseException:  # the deadline, a TLS failure: never leak the raw socket
                sock.close()
                raise
    with sock:
        request = (
            f"GET /info HTTP/1.0\r\nHost: {host_header}\r\n"
            "Accept: application/json\r\nConnection: close\r\n"
            "User-Agent: appsec-guard\r\n\r\n"
        ).encode("ascii")
        sock.settimeout(_remaining(deadline))
        sock.sendall(request)
        chunks: List[bytes] = []
        size = 0
        while True:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(16384)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes + 16384:  # the body cap plus room for the headers
                raise _TooLarge()
    return b"".join(chunks)


def _host_arg(host: str) -> object:
    """An ASCII host name as bytes: getaddrinfo encodes a str with the "idna" codec, whose
    import (encodings.idna, stringprep) costs ~1.5 ms of boot; bytes skip it."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


class _TooLarge(OSError):
    def __str__(self) -> str:
        return "the answer is larger than the size cap"


def interpret(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ProbeResult:
    """Turn a raw HTTP/1.x answer to ``GET /info`` into a Remote Configuration status."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return ProbeResult(RemoteConfig.UNKNOWN, "the answer is not HTTP")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return ProbeResult(RemoteConfig.UNKNOWN, "the answer is not HTTP")
    code = int(parts[1])
    if code == 404:
        return ProbeResult(
            RemoteConfig.UNAVAILABLE, "the Agent has no /info endpoint (older than 7.28)"
        )
    if 300 <= code < 400:
        return ProbeResult(RemoteConfig.UNKNOWN, f"HTTP {code}: redirects are not followed")
    if code != 200:
        return ProbeResult(RemoteConfig.UNKNOWN, f"HTTP {code} from /info")
    if len(body) > max_bytes:
        return ProbeResult(RemoteConfig.UNKNOWN, "the /info answer is larger than the size cap")
    try:
        info: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ProbeResult(RemoteConfig.UNKNOWN, "the /info answer is not JSON")
    if not isinstance(info, dict):
        return ProbeResult(RemoteConfig.UNKNOWN, "the /info answer is not a JSON object")
    endpoints = info.get("endpoints")
    if not isinstance(endpoints, list):
        return ProbeResult(RemoteConfig.UNKNOWN, "the /info answer has no endpoint list")
    if not all(isinstance(e, str) for e in endpoints):
        return ProbeResult(
            RemoteConfig.UNKNOWN, "the /info endpoint list holds items that are not strings"
        )
    version = info.get("version")
    who = f"Agent {version}" if isinstance(version, str) and len(version) < 40 else "the Agent"
    # ddtrace accepts the endpoint with or without its leading slash
    # (ddtrace 4.16.0: ddtrace/internal/remoteconfig/worker.py)
    listed = [e for e in (RC_ENDPOINT, RC_ENDPOINT.lstrip("/")) if e in endpoints]
    if listed:
        return ProbeResult(RemoteConfig.ENABLED, f"{who} lists {listed[0]}")
    return ProbeResult(RemoteConfig.UNAVAILABLE, f"{who} does not list {RC_ENDPOINT}")


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


# --- the detector ----------------------------------------------------------------------------


def detect_remote_config(
    env: Mapping[str, str],
    root: Path,
    *,
    deployment: str,
    enabled_in_settings: bool,
    options: ProbeOptions = ProbeOptions(),  # noqa: B008 (frozen)
) -> Fact:
    """Remote Configuration status, its evidence, and findings about the Agent settings."""
    return Fact.of(
        *_remote_config(
            env,
            root,
            deployment=deployment,
            enabled_in_settings=enabled_in_settings,
            options=options,
        )
    )


def _remote_config(
    env: Mapping[str, str],
    root: Path,
    *,
    deployment: str,
    enabled_in_settings: bool,
    options: ProbeOptions,
) -> Tuple[RemoteConfig, List[Evidence], List[Finding]]:
    if not enabled_in_settings:
        return (
            RemoteConfig.DISABLED,
            [Evidence(_FACT, "env:DD_REMOTE_CONFIGURATION_ENABLED", "ddtrace reads it as false")],
            [],
        )
    if deployment == "lambda":
        # ddtrace/internal/settings/asm.py (v4.x): in_aws_lambda() sets _remote_config_enabled
        # to False; the Lambda extension offers no Remote Configuration.
        return (
            RemoteConfig.UNAVAILABLE,
            [Evidence(_FACT, "deployment", "AWS Lambda has no Remote Configuration")],
            [],
        )
    if not options.enabled:
        return RemoteConfig.UNKNOWN, [Evidence(_FACT, "probe", "turned off")], []
    try:
        address = agent_address(env, root)
    except AddressError as exc:
        return (
            RemoteConfig.UNKNOWN,
            [Evidence(_FACT, "agent address", str(exc))],
            [
                Finding(
                    "AG601",
                    Severity.WARNING,
                    None,
                    f"{exc}; ddtrace cannot reach the Agent with it",
                    "write DD_TRACE_AGENT_URL=http://HOST:8126 (or unix:///PATH), "
                    "or DD_AGENT_HOST=HOST with DD_TRACE_AGENT_PORT=8126",
                    "ddtrace source: ddtrace/internal/settings/_agent.py",
                )
            ],
        )
    result = probe(address, options)
    return (
        result.status,
        [Evidence(_FACT, f"probe:GET {address.display}/info ({address.source})", result.detail)],
        [],
    )
