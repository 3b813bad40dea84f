"""The ``appsec-guard`` command: a what-if check for CI and upgrade planning."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence

from . import matrix as _matrix
from .assume import AssumptionError, Assumptions, parse_assumptions
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
    from .detect import ProbeOptions
    from .redaction import redact, redact_text
    from .render import report_text
    from .session import judge_for_command, refusal
    from .tags import tagged

    # --matrix wins over APPSEC_GUARD_MATRIX; a broken one is bad input here (exit 2), while
    # a broken APPSEC_GUARD_MATRIX is AG701, as the app's boot reports it.
    matrix = _load_matrix(args.matrix) if args.matrix else None
    required = _split_caps(args.require)
    known = (matrix or _matrix.load()).capability_ids
    unknown = [c for c in required if c not in known]
    if unknown:
        raise UsageError(
            f"--require {unknown[0]!r} is not a capability; choose from {', '.join(known)}"
        )
    if not 0 < args.agent_timeout <= 60:
        raise UsageError(
            f"--agent-timeout {args.agent_timeout:g} is out of range; give seconds in (0, 60]"
        )
    probe = ProbeOptions(enabled=not args.no_probe, timeout=args.agent_timeout)
    flags = parse_assumptions(args.assume)
    code = EXIT_OK
    locks = _lock_files(args)
    runs: List[Optional[str]] = [*locks] or [None]
    for lock in runs:
        assumed, lock_facts = flags, None
        if lock is not None:
            lock_facts = _read_lock(lock, flags.facts())
            assumed = Assumptions.of({**lock_facts.values, **flags.facts()})  # flags win
        report, policy = judge_for_command(
            require=required, assumed=assumed, probe=probe, matrix=matrix
        )
        if lock_facts is not None:
            from .lockfile import with_lock_evidence

            report = with_lock_evidence(report, lock_facts)
        # the report was redacted where it was built (appsec_guard.guard.judged); the service
        # tags and the lock file's evidence are redacted here
        if args.format == "json":
            sys.stdout.write(json.dumps(redact(tagged(report.to_dict())), indent=2) + "\n")
        else:
            header = f"== {lock}\n" if lock is not None else ""
            sys.stdout.write(redact_text(header + report_text(report, verbose=args.verbose)))
        # The boot in strict mode would refuse (APPSEC_GUARD_FAIL_CLOSED: an unknown, a beta, a
        # broken policy or matrix too): the command fails as the boot would.
        refused = policy.strict and refusal(report, policy) is not None
        code = max(code, EXIT_UNSUPPORTED if not report.ok or refused else EXIT_OK)
    return code


def _lock_files(args: argparse.Namespace) -> List[str]:
    """``--lock FILE...``; pre-commit puts its file names after the hook's own arguments."""
    if args.lock is None:
        if args.files:
            raise UsageError(f"unexpected argument {args.files[0]!r}; give lock files with --lock")
        return []
    locks: List[str] = [*args.lock, *args.files]
    if not locks:
        raise UsageError("--lock needs a file: pylock.toml, uv.lock, poetry.lock, Pipfile.lock "
                         "or a pinned requirements.txt")  # fmt: skip
    if args.format == "json" and len(locks) > 1:
        raise UsageError("--format json judges one --lock file at a time")
    return locks


def _read_lock(path: str, flags: Dict[str, Any]) -> Any:
    from .lockfile import LockError, lock_assumptions, read_lock

    try:
        return lock_assumptions(read_lock(Path(path)), flags)
    except LockError as exc:
        raise UsageError(str(exc)) from None


def _show_matrix(args: argparse.Namespace) -> int:
    from .render import matrix_text

    matrix = _load_matrix(args.matrix)
    if args.format == "json":
        sys.stdout.write(json.dumps(_matrix.to_layer(matrix), indent=2) + "\n")
    else:
        sys.stdout.write(matrix_text(matrix))
    return EXIT_OK


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{path}: cannot read: {why}") from None


def _recompile(written: Path) -> None:
    """The shipped layer was rewritten: compile the matrix the boot reads from it again."""
    from . import _compile

    if written.name != _matrix.SHIPPED_LAYERS[0] or not _compile.is_data_dir(written.parent):
        return
    try:
        out = _compile.write(written.parent)
    except (OSError, ValueError) as exc:  # MatrixError is a ValueError
        raise UsageError(f"{written.parent}: cannot compile the matrix: {exc}") from None
    sys.stderr.write(
        f"appsec-guard: compiled {out.name} from {written.name} and the other layers\n"
    )


def _import_matrix(args: argparse.Namespace) -> int:
    from .importer import import_page

    page = Path(args.page)
    result = import_page(_read_text(page), source_id=args.source_id, url=args.url)
    for problem in result.problems:
        sys.stderr.write(f"appsec-guard: warning: {page}:{problem.line}: {problem.message}\n")
    if not result.layer["capabilities"]:
        raise UsageError(f"{page}: no capability table found; is this a compatibility page?")
    _matrix.merge_layers([_matrix.parse_layer(result.layer, str(page))], str(page))
    if args.strict and result.problems:
        sys.stderr.write(
            f"appsec-guard: error: {page}: {len(result.problems)} unreadable row(s) (--strict); "
            "nothing written\n"
        )
        return EXIT_UNSUPPORTED
    text = json.dumps(result.layer, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
        _recompile(Path(args.output))
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _diff_side(spec: str) -> Matrix:
    """``shipped``, or a layer file; a page layer is merged with the shipped supplement, as it
    would ship."""
    if spec == "shipped":
        return _matrix.load()
    layers = [_matrix.read_layer(Path(spec))]  # validates, with a located error
    if json.loads(_read_text(Path(spec))).get("layer") == "datadog-compatibility-page":
        layers.append(_matrix.read_layer(_matrix.DATA_DIR / _matrix.SHIPPED_LAYERS[1]))
    return _matrix.merge_layers(layers, spec)


def _diff_matrix(args: argparse.Namespace) -> int:
    from .diff import diff, diff_dict
    from .render import diff_text

    old, new = _diff_side(args.old), _diff_side(args.new)
    changes = diff(old, new)
    if args.format == "json":
        sys.stdout.write(json.dumps(diff_dict(changes, args.old, args.new), indent=2) + "\n")
    else:
        sys.stdout.write(diff_text(changes, args.old, args.new))
    return EXIT_UNSUPPORTED if changes else EXIT_OK


def _plan(args: argparse.Namespace) -> int:
    from .guard import assess
    from .plan import plan
    from .policy import resolve
    from .render import plan_text

    # The same policy as check (and the app's boot): the flags win over APPSEC_GUARD_REQUIRE
    # and APPSEC_GUARD_MATRIX, so that plan and check answer for one matrix.
    flags = _split_caps(args.require)
    pol = resolve({"require": flags} if flags else {}, None, None)
    where = "--require" if flags else pol.origin("require")
    required = flags or sorted(pol.require)
    if not required:
        raise UsageError("--require needs at least one capability")
    matrix = _load_matrix(args.matrix or pol.matrix)
    unknown = [c for c in required if c not in matrix.capability_ids]
    if unknown:
        raise UsageError(
            f"{where} {unknown[0]!r} is not a capability; choose from {', '.join(matrix.capability_ids)}"
        )
    report = assess(assumed=parse_assumptions(args.assume), required=required, matrix=matrix)
    result = plan(report.stack, matrix, required)
    from .redaction import redact, redact_text

    if args.format == "json":
        sys.stdout.write(json.dumps(redact(result.to_dict()), indent=2) + "\n")
    else:
        sys.stdout.write(redact_text(plan_text(result, matrix)))
    return EXIT_OK if result.ok else EXIT_UNSUPPORTED


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
    check.add_argument("--lock", nargs="*", action="extend", metavar="FILE",
                       help="judge the stack a lock file installs: pylock.toml, uv.lock, "
                       "poetry.lock, Pipfile.lock or a pinned requirements.txt (flags win)")  # fmt: skip
    check.add_argument("files", nargs="*", metavar="LOCKFILE", help=argparse.SUPPRESS)
    check.set_defaults(handler=_check)

    show = commands.add_parser("matrix", help="print the compatibility matrix")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.add_argument("--matrix", action="append", default=[], metavar="FILE",
                      help="an extra matrix layer (JSON) merged over the shipped one")  # fmt: skip
    show.set_defaults(handler=_show_matrix)
    matrix_commands = show.add_subparsers(
        dest="matrix_command", metavar="ACTION", parser_class=_Parser
    )
    imp = matrix_commands.add_parser(
        "import", help="read a compatibility page (Markdown) and write the matrix layer it gives"
    )
    imp.add_argument("page", metavar="PAGE.md")
    imp.add_argument(
        "--output", "-o", metavar="FILE", help="write the layer here (default: stdout)"
    )
    imp.add_argument("--strict", action="store_true",
                     help="exit 1, writing nothing, when a row cannot be read")  # fmt: skip
    imp.add_argument("--source-id", default="dd-page", help="the source id the rows cite")
    imp.add_argument("--url", default="https://docs.datadoghq.com/security/application_security/"
                     "setup/compatibility/python/", help="the page's address (for citations)")  # fmt: skip
    imp.set_defaults(handler=_import_matrix)
    dif = matrix_commands.add_parser(
        "diff", help="what changed between two matrices (layer files, or the word shipped)"
    )
    dif.add_argument("old", metavar="OLD")
    dif.add_argument("new", metavar="NEW")
    dif.add_argument("--format", choices=("text", "json"), default="text")
    dif.set_defaults(handler=_diff_matrix)

    pln = commands.add_parser(
        "plan", help="the smallest set of changes that makes the required capabilities work here"
    )
    pln.add_argument("--require", action="append", default=[], metavar="CAP",
                     help="a capability that must work (repeatable, or comma-separated)")  # fmt: skip
    pln.add_argument("--assume", action="append", default=[], metavar="KEY=VALUE",
                     help="state a fact instead of detecting it (as in check)")  # fmt: skip
    pln.add_argument("--format", choices=("text", "json"), default="text")
    pln.add_argument("--matrix", action="append", default=[], metavar="FILE",
                     help="an extra matrix layer (JSON) merged over the shipped one")  # fmt: skip
    pln.set_defaults(handler=_plan)
    return parser


def _one_line(text: str) -> str:
    """An error message as one printable line, secrets redacted: a control character in an
    argument (a newline, a carriage return) is shown escaped, never echoed."""
    from .redaction import redact_text

    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text.strip())
    return redact_text(shown)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except (UsageError, AssumptionError, MatrixError) as exc:
        sys.stderr.write(f"appsec-guard: error: {_one_line(str(exc))}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
