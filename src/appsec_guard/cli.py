"""The ``appsec-guard`` command: a what-if check for CI and upgrade planning."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, List, NoReturn, Optional, Sequence

from . import matrix as _matrix
from .assume import AssumptionError, parse_assumptions
from .matrix import Matrix, MatrixError

EXIT_OK, EXIT_UNSUPPORTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input to the command: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _split_caps(values: Sequence[str]) -> List[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _load_matrix(paths: Sequence[str]) -> Matrix:
    return _matrix.load([Path(p) for p in paths])


def _check(args: argparse.Namespace) -> int:
    from .guard import assess
    from .render import report_text

    matrix = _load_matrix(args.matrix)
    required = _split_caps(args.require)
    unknown = [c for c in required if c not in matrix.capability_ids]
    if unknown:
        raise UsageError(
            f"--require {unknown[0]!r} is not a capability; choose from {', '.join(matrix.capability_ids)}"
        )
    from .detect import ProbeOptions

    if not 0 < args.agent_timeout <= 60:
        raise UsageError(
            f"--agent-timeout {args.agent_timeout:g} is out of range; give seconds in (0, 60]"
        )
    probe = ProbeOptions(enabled=not args.no_probe, timeout=args.agent_timeout)
    report = assess(
        assumed=parse_assumptions(args.assume), required=required, matrix=matrix, probe=probe
    )
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report_text(report, verbose=args.verbose))
    return EXIT_OK if report.ok else EXIT_UNSUPPORTED


def _show_matrix(args: argparse.Namespace) -> int:
    from .render import matrix_text

    matrix = _load_matrix(args.matrix)
    if args.format == "json":
        sys.stdout.write(json.dumps(_matrix.to_layer(matrix), indent=2) + "\n")
    else:
        sys.stdout.write(matrix_text(matrix))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="appsec-guard",
        description="Check which Datadog Application Security capabilities work on a Python stack.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser("check", help="detect this stack (or assume one) and judge it")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("-v", "--verbose", action="store_true", help="also show info findings")
    check.add_argument(
        "--require", action="append", default=[], metavar="CAP",
        help="a capability that must work (repeatable, or comma-separated); exit 1 if it does not",
    )  # fmt: skip
    check.add_argument(
        "--assume", action="append", default=[], metavar="KEY=VALUE",
        help="state a fact instead of detecting it: python=3.12.1, implementation=cpython|pypy, "
        "os=linux|macos|windows, arch=x86_64|i686|aarch64|arm64, ddtrace=VERSION|none, "
        "framework=django==4.2.1|flask==2.3.0|none, "
        "deployment=docker|kubernetes|ecs|fargate|lambda|host, "
        "remote_config=enabled|disabled|unavailable|unknown",
    )  # fmt: skip
    check.add_argument("--matrix", action="append", default=[], metavar="FILE",
                       help="an extra matrix layer (JSON) merged over the shipped one")  # fmt: skip
    check.add_argument("--agent-timeout", type=float, default=0.25, metavar="SECONDS",
                       help="deadline for asking the Datadog Agent about Remote Configuration "
                       "(default 0.25)")  # fmt: skip
    check.add_argument("--no-probe", action="store_true",
                       help="do not contact the Datadog Agent (Remote Configuration is unknown)")  # fmt: skip
    check.set_defaults(handler=_check)

    show = commands.add_parser("matrix", help="print the compatibility matrix")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.add_argument("--matrix", action="append", default=[], metavar="FILE",
                      help="an extra matrix layer (JSON) merged over the shipped one")  # fmt: skip
    show.set_defaults(handler=_show_matrix)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except (UsageError, AssumptionError, MatrixError) as exc:
        sys.stderr.write(f"appsec-guard: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
