"""`gradcheck lint PATH...` and `gradcheck schema`: read, parse and type rule files without
checking them (no torch, sympy or hypothesis import: for pre-commit and editors)."""

from __future__ import annotations

import typer

from gradcheck.model import ExitCode

from .options import PathsArg


def lint(paths: PathsArg = None) -> None:
    """Read, parse and type every rule of the files or folders PATH... (default: the bundled
    catalog) without checking it: a line per problem at file:line:col, then a count.

    Exit code: 0 every rule is well-formed, 2 some file or rule cannot be read or typed.
    """
    from gradcheck.catalog import bundled_catalog, load_paths
    from gradcheck.errors import RuleError
    from gradcheck.model import Diagnostic
    from gradcheck.problem import compile_rule
    from gradcheck.verdicts import ill_formed

    rules, diagnostics = load_paths(paths or [bundled_catalog()])
    for rule in rules:
        try:
            compile_rule(rule)
        except RuleError as err:
            verdict = ill_formed(rule, err)
            where = verdict.position or rule.position
            diagnostics.append(Diagnostic(where, verdict.message, rule_id=rule.id))
    for d in diagnostics:
        typer.echo(str(d), err=True)
    files = len({r.position.file for r in rules})
    problems = [d for d in diagnostics if not d.unread]  # an unread formula of a note: listed
    unread = len(diagnostics) - len(problems)
    state = "well-formed" if not problems else _count(len(problems), "problem")
    if unread:
        state += f" ({_count(unread, 'unread formula')})"
    typer.echo(f"gradcheck lint: {_count(len(rules), 'rule')} in {_count(files, 'file')}; {state}")
    raise typer.Exit(int(ExitCode.UNREADABLE if problems else ExitCode.OK))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def schema() -> None:
    """Print the JSON Schema of rule files, for editors (see README, *The schema*)."""
    import json

    from gradcheck.schema import rule_file_schema

    typer.echo(json.dumps(rule_file_schema(), indent=2, ensure_ascii=False))
