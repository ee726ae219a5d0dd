"""Rule files (safe round-trip YAML) to `Rule` objects, with the position of every field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml import scalarstring
from ruamel.yaml.comments import CommentedSeq, TaggedScalar

from gradcheck import limits, model, yaml_source
from gradcheck.model import Diagnostic, Expect, Kind, Layout, Position, Rule, SymbolDecl

FIELDS = (
    "id",
    "title",
    "source",
    "note",
    "correct",
    "claim",
    "f",
    "wrt",
    "gradient",
    "jacobian",
    "hessian",
    "differential",
    "symbols",
    "assume",
    "layout",
    "expect",
    "tags",
)
_KINDS = tuple(kind.value for kind in Kind)
# The spec says [a-z0-9][a-z0-9._-]*, but its acceptance file has ids like `trace-AXB`.
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DIM = r"\s*([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\s*"
DECLARATION = re.compile(rf"\s*(?:(scalar)|(vector)\s*\({_DIM}\)|(matrix)\s*\({_DIM},{_DIM}\))\s*")
# In a flow mapping `{A: matrix(m, n)}` YAML splits at the comma; a stand-in of the same width
# keeps every column right while the file is parsed, and is turned back into ',' on reading.
_COMMA = "\ue000"
_MATRIX = re.compile(r"\bmatrix\s*\([^()\n]*\)")
_QUOTES = (scalarstring.SingleQuotedScalarString, scalarstring.DoubleQuotedScalarString)
_BLOCKS = (scalarstring.LiteralScalarString, scalarstring.FoldedScalarString)
_ALIASES = {
    "assumptions": "assume",
    "assumes": "assume",
    "shape": "symbols",
    "shapes": "symbols",
    "comment": "note",
    "description": "note",
    "reference": "source",
    "name": "title",
}
_KINDS_HINT = "one of gradient|jacobian|hessian|differential"
_FORM_HINT = f'write `claim: "∇_x f = g"`, or `f`, `wrt` and {_KINDS_HINT}'
_DECL_HINT = "write scalar, vector(n) or matrix(m, n); a dimension is a name or a positive integer"
_TOP_HINT = "start the file with `rules:` followed by a list of rules (`- id: ...`)"
_DIM_HINT = "name the dimension (vector(n)) to check it at several sizes"
# The text of a plain scalar that YAML reads as a number (12, 1e-3, -.5, 0x1F), in its line.
_NUMBER_TEXT = re.compile(r"[-+]?[0-9A-Za-z_.:]+(?:(?<=[eE])[-+][0-9_]+)?")
_SHOWN = 60  # characters of a user's text repeated in a message
_E = TypeVar("_E", Layout, Expect)
_Positions = tuple[tuple[str, Position], ...]


STDIN_PATH = "-"  # a rule file read from standard input


def load_file(path: Path | str) -> tuple[list[Rule], list[Diagnostic]]:
    """Read one rule file: the readable rules, and a diagnostic for everything else."""
    return load_paths([path])


def load_paths(
    paths: Sequence[Path | str], *, notes: bool = False
) -> tuple[list[Rule], list[Diagnostic]]:
    """Read files and folders (every *.yaml / *.yml below, sorted; with `notes` also every
    note: *.md, *.markdown, *.txt, *.tex, *.ipynb); ids must be unique. A file named with a
    note's suffix is read as a note (gradcheck.notes), whatever `notes` says."""
    from .notes.reader import is_note, read_note

    files, diagnostics = _expand(paths, notes=notes)
    rules: list[Rule] = []
    for file in files:
        note = str(file) != STDIN_PATH and is_note(file)
        found, problems = read_note(file) if note else _load_one(file)
        if note:  # a note's ids are its lines: qualified by its file name when taken
            taken = {rule.id for rule in rules}
            found = [_qualified(rule, file, taken) for rule in found]
        rules += found
        diagnostics += problems
    return _unique(rules, diagnostics)


def _qualified(rule: Rule, file: Path, taken: set[str]) -> Rule:
    """A note's rule with its id prefixed by the file's name when another rule has it."""
    if rule.id not in taken:
        return rule
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", file.name).strip("-._") or "note"
    return replace(rule, id=f"{stem}.{rule.id}")


def bundled_catalog() -> Path:
    """The folder of the bundled catalog: `rules/` of a checkout, else the installed copy."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "rules"
    if (checkout / "seed.yaml").is_file():
        return checkout
    return here / "rules"  # pyproject maps package `gradcheck.rules` to the top-level rules/


def select(
    rules: Sequence[Rule], *, keyword: str | None = None, tags: Sequence[str] = ()
) -> list[Rule]:
    """Rules whose id, title or a tag contains `keyword` (any case) and that carry one of `tags`."""
    word = keyword.casefold() if keyword else None
    wanted = {tag.casefold() for tag in tags}

    def keep(rule: Rule) -> bool:
        texts = (rule.id, rule.title or "", *rule.tags)
        if word is not None and not any(word in text.casefold() for text in texts):
            return False
        return not wanted or any(tag.casefold() in wanted for tag in rule.tags)

    return [rule for rule in rules if keep(rule)]


def rule_from_claim(
    claim: str,
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    layout: str = "denominator",
    symbols: Mapping[str, str] | None = None,
    rule_id: str = "claim",
) -> tuple[Rule | None, list[Diagnostic]]:
    """A rule for a claim typed on the command line, validated like a rule in a file."""
    return rule_from_fields(
        {"id": rule_id, "claim": claim, "layout": layout}, assume=assume, symbols=symbols
    )


def rule_from_fields(
    fields: dict[str, Any],
    *,
    assume: Mapping[str, Sequence[str]] | None = None,
    symbols: Mapping[str, str] | None = None,
    file: str = "<claim>",
) -> tuple[Rule | None, list[Diagnostic]]:
    """A rule from fields given in code or on the command line, validated like one in a file."""
    node: dict[str, Any] = dict(fields)
    if symbols:
        node["symbols"] = dict(symbols)
    if assume:
        node["assume"] = {k: v if isinstance(v, str) else list(v) for k, v in assume.items()}
    ctx = _Ctx(file, Position(file, 1, 1))
    return _parse_rule(node, ctx), ctx.diags


class _Ctx:
    """Where the fields of one rule are, and the problems found in it so far."""

    def __init__(self, file: str, base: Position, lines: Sequence[str] = ()) -> None:
        self.file, self.base, self.lines = file, base, lines
        self.rule_id: str | None = None
        self.diags: list[Diagnostic] = []

    def at(self, node: Any, key: Any, *, of_key: bool = False) -> Position:
        """Where the value (or the key) of `key` starts; the rule's position if unknown."""
        try:
            line, col = node.lc.key(key) if of_key else node.lc.value(key)
        except (AttributeError, KeyError, IndexError, TypeError):  # plain dicts, merge keys
            return self.base
        if not of_key and isinstance(node.get(key), _BLOCKS):  # `|` or `>`: text starts below
            for index in range(line + 1, len(self.lines)):
                if text := self.lines[index].strip():
                    return Position(self.file, index + 1, self.lines[index].index(text) + 1)
        return Position(self.file, line + 1, col + 1)

    def number_text(self, node: Any, key: Any) -> str | None:
        """The number under `key` as written in the file (`1e-3`, not 0.001), when found."""
        try:
            line, col = node.lc.value(key)
        except (AttributeError, KeyError, IndexError, TypeError):
            return None
        if not 0 <= line < len(self.lines):
            return None
        text = self.lines[line]
        match = _NUMBER_TEXT.match(text, yaml_source.column_index(text, col))
        return match.group(0) if match else None

    def error(self, position: Position, message: str, hint: str = "") -> None:
        """Record a problem of this rule."""
        self.diags.append(Diagnostic(position, message, hint, self.rule_id))


def read_data(path: Path | str) -> Any:
    """A rule file as plain data (mappings, lists, strings, numbers), as gradcheck's reader sees
    it: `{A: matrix(m, n)}` is one key, where a plain YAML parser splits it at the comma. For
    checking the bundled files against the JSON Schema (gradcheck.schema); not for rules."""
    from ruamel.yaml import YAML

    text = yaml_source.read_text(Path(path))
    if isinstance(text, Diagnostic):
        raise ValueError(str(text))
    data = YAML(typ="safe").load(_MATRIX.sub(lambda m: m.group(0).replace(",", _COMMA), text))
    return _restored_data(data)


def _restored_data(value: Any) -> Any:
    if isinstance(value, str):
        return _restore(value)
    if isinstance(value, dict):
        return {_restored_data(k): _restored_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored_data(v) for v in value]
    return value


def _expand(
    paths: Sequence[Path | str], *, notes: bool = False
) -> tuple[list[Path], list[Diagnostic]]:
    """The rule files named by `paths`, each once, and a diagnostic per path that is missing or
    not a regular file (also for a *.yaml / *.yml in a folder that is a FIFO, a device...)."""
    files: dict[Path, Path] = {}
    diagnostics: list[Diagnostic] = []
    for path in map(Path, paths):
        found: list[Path] = []
        if str(path) == STDIN_PATH:
            files.setdefault(path, path)
            continue
        kind = yaml_source.file_kind(path)
        if kind == "folder":
            found, problems = _rule_files(path, notes=notes)
            diagnostics += problems
            if not found and not problems:
                diagnostics.append(
                    Diagnostic(
                        Position(str(path), 1, 1),
                        "no *.yaml or *.yml file in this folder"
                        + ("" if notes else " (notes are read with --notes)"),
                        "name a folder of rules",
                    )
                )
        elif kind == "file":
            found = [path]
        elif kind != "missing":
            diagnostics.append(yaml_source.not_regular(path, kind))
        else:
            diagnostics.append(
                Diagnostic(
                    Position(str(path), 1, 1),
                    "no such file or folder",
                    _suggest(path.name, _siblings(path), "check the path"),
                )
            )
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values()), diagnostics


def _rule_files(folder: Path, *, notes: bool = False) -> tuple[list[Path], list[Diagnostic]]:
    """Every *.yaml / *.yml (with `notes`, also every note) below `folder` that is a regular
    file, sorted; and the others."""
    from .notes.reader import NOTE_SUFFIXES

    suffixes = (".yaml", ".yml", *(NOTE_SUFFIXES if notes else ()))
    try:
        named = sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes)
    except OSError as exc:
        where = Position(str(folder), 1, 1)
        return [], [Diagnostic(where, f"cannot read the folder: {exc.strerror or exc}")]
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for path in named:
        kind = yaml_source.file_kind(path)
        if kind == "file":
            found.append(path)
        elif kind == "missing":  # a broken symbolic link
            problems.append(Diagnostic(Position(str(path), 1, 1), "no such file or folder",
                                       "this is a symbolic link to nothing: fix or remove it"))
        elif kind != "folder":  # a folder named *.yaml is searched like any other
            problems.append(yaml_source.not_regular(path, kind))
    return found, problems


def _siblings(path: Path) -> list[str]:
    """The names next to a missing path, for a suggestion (none if its folder is unreadable)."""
    try:
        return [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
    except OSError:
        return []


def _unique(rules: list[Rule], diags: list[Diagnostic]) -> tuple[list[Rule], list[Diagnostic]]:
    """Drop each rule whose id was already seen, with a diagnostic naming the first one."""
    first: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in first:
            diags.append(
                Diagnostic(
                    rule.position_of("id"),
                    f"duplicate rule id '{rule.id}' (first at {first[rule.id].position_of('id')})",
                    "ids are unique across a catalog: rename one of the two rules",
                    rule.id,
                )
            )
        else:
            first[rule.id] = rule
    return list(first.values()), diags


def _load_one(path: Path) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules of one file (`-`: standard input), and a diagnostic for each part that
    cannot be read."""
    if str(path) == STDIN_PATH:
        text, name = yaml_source.read_stdin(), yaml_source.STDIN
    else:
        text, name = yaml_source.read_text(path), str(path)
    if isinstance(text, Diagnostic):
        return [], [text]
    if _COMMA not in text:
        text = _MATRIX.sub(lambda m: m.group(0).replace(",", _COMMA), text)
    loaded = yaml_source.load(text, name)
    ctx = _Ctx(name, Position(name, 1, 1), yaml_source.split_lines(text))
    rules, diagnostics = _read_document(loaded, ctx)
    restored = [replace(d, message=_restore(d.message)) for d in diagnostics]
    return rules, sorted(restored, key=lambda d: (d.position.line, d.position.column))


def _read_document(loaded: yaml_source.Loaded, ctx: _Ctx) -> tuple[list[Rule], list[Diagnostic]]:
    """The rules under the top-level `rules:` key, and what is wrong around them."""
    doc = loaded.document
    ctx.diags += loaded.problems
    if loaded.entries is None:  # the document was read as a whole
        if not isinstance(doc, Mapping) or _own_tag(doc):
            what = f"{_describe(doc)}, not a mapping with the key `rules`"
            what = "empty" if doc is None else what
            return [], [Diagnostic(ctx.base, f"the file is {what}", _TOP_HINT)]
        items = doc.get("rules")
        if not isinstance(items, CommentedSeq) or _own_tag(items):
            _top_level_keys(doc, ctx)
            where = ctx.at(doc, "rules") if "rules" in doc else ctx.base
            ctx.error(where, f"`rules` is {_describe(items)}, not a list of rules", _TOP_HINT)
            return [], ctx.diags
        entries = [
            yaml_source.Entry(Position(ctx.file, line + 1, col + 1), item)
            for index, item in enumerate(items)
            for line, col in [items.lc.item(index)]
        ]
    else:  # recovered rule by rule: `doc` is the file without its rules (or None)
        entries = list(loaded.entries)
    if isinstance(doc, Mapping):
        _top_level_keys(doc, ctx)
    rules: list[Rule] = []
    for index, entry in enumerate(entries):
        if entry.problem is not None:
            ctx.diags.append(entry.problem)
            continue
        rule_ctx = _Ctx(ctx.file, entry.position, ctx.lines)
        item = entry.value
        if tag := _own_tag(item):
            rule_ctx.error(
                rule_ctx.base,
                f"YAML tag {tag} is not allowed in a rule file",
                "rule files are plain data: remove the tag",
            )
        elif not isinstance(item, Mapping):
            rule_ctx.error(
                rule_ctx.base,
                f"rule {index + 1} is {_describe(item)}, not a mapping",
                "write each rule as `- id: ...` with its other keys below it",
            )
        elif (rule := _parse_rule(item, rule_ctx)) is not None:
            rules.append(rule)
        ctx.diags += rule_ctx.diags
    return rules, ctx.diags


def _top_level_keys(doc: Mapping[Any, Any], ctx: _Ctx) -> None:
    """A diagnostic for each top-level key other than `rules`."""
    for key in doc:
        if key != "rules":
            ctx.error(
                ctx.at(doc, key, of_key=True), f"unknown top-level key {_shown(key)}", _TOP_HINT
            )


def _parse_rule(node: Mapping[Any, Any], ctx: _Ctx) -> Rule | None:
    """A Rule when the mapping is a valid rule; else None, with every problem in ctx."""
    label = _plain(node.get("id"))
    ctx.rule_id = _restore(label) if isinstance(label, str) and label else None
    for key, value in node.items():
        if tag := _bad_tag(value):
            ctx.error(
                ctx.at(node, key),
                f"YAML tag {tag} is not allowed in a rule file",
                "rule files are plain data: remove the tag",
            )
    if ctx.diags:
        return None
    rule_id = _read_id(node, ctx)
    for key in node:
        if not (isinstance(key, str) and key in FIELDS):
            name = key.lower() if isinstance(key, str) else ""
            hint = _suggest(_ALIASES.get(name, name), FIELDS, "allowed: " + ", ".join(FIELDS))
            ctx.error(ctx.at(node, key, of_key=True), f"unknown key {_shown(key)} in a rule", hint)
    fields: dict[str, Any] = _read_form(node, ctx)
    fields.update(
        symbols=_read_symbols(node, ctx),
        assume=_read_assume(node, ctx),
        title=_text(node, "title", ctx),
        source=_text(node, "source", ctx),
        note=_text(node, "note", ctx),
        correct=_text(node, "correct", ctx),
        tags=_read_tags(node, ctx),
    )
    layout, expect = _choice(node, "layout", Layout, ctx), _choice(node, "expect", Expect, ctx)
    if ctx.diags or rule_id is None:
        return None
    positions, quoted = _where(node, ctx)
    return Rule(
        id=rule_id,
        position=ctx.base,
        layout=layout or Layout.DENOMINATOR,
        expect=expect or Expect.HOLDS,
        positions=positions,
        quoted=quoted,
        **fields,
    )


def _read_id(node: Mapping[Any, Any], ctx: _Ctx) -> str | None:
    """The rule's id when present and well formed."""
    if "id" not in node:
        ctx.error(ctx.base, "the rule has no `id`", "add `id: a-name` (letters, digits, .-_)")
        return None
    text = _text(node, "id", ctx)
    if text is not None and not RULE_ID.fullmatch(text):
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "rule-1"
        ctx.error(
            ctx.at(node, "id"),
            f"id {_shown(text)} is not a valid id",
            f"use letters, digits, '.', '_', '-', e.g. '{slug[:_SHOWN]}'",
        )
        return None
    return text


def _read_form(node: Mapping[Any, Any], ctx: _Ctx) -> dict[str, Any]:
    """`claim`, or `f`, `wrt`, `kind` and `rhs`: exactly one of the two forms."""
    structured = [key for key in ("f", "wrt", *_KINDS) if key in node]
    kinds = [key for key in _KINDS if key in node]
    if "claim" in node:
        if structured:
            keys = ", ".join(f"`{key}`" for key in structured)
            ctx.error(
                ctx.at(node, structured[0]),
                f"`claim` and {keys} in one rule",
                f"keep either the claim, or `f`, `wrt` and {_KINDS_HINT}",
            )
        return {"claim": _text(node, "claim", ctx)}
    if not structured:
        ctx.error(ctx.base, "the rule states nothing: no `claim` and no `f`", _FORM_HINT)
        return {}
    for key in ("f", "wrt"):
        if key not in node:
            ctx.error(ctx.base, f"`{key}` is missing", _FORM_HINT)
    if not kinds:
        ctx.error(ctx.base, "no derivative is stated", f"add {_KINDS_HINT}")
    for extra in kinds[1:]:
        ctx.error(
            ctx.at(node, extra),
            f"both `{kinds[0]}` and `{extra}` in one rule",
            "state one derivative per rule: split it into two rules",
        )
    rhs = [_text(node, key, ctx, number_ok=True) for key in kinds]
    return {
        "f": _text(node, "f", ctx, number_ok=True),
        "wrt": _text(node, "wrt", ctx),
        "kind": Kind(kinds[0]) if kinds else None,
        "rhs": rhs[0] if rhs else None,
    }


def _read_symbols(node: Mapping[Any, Any], ctx: _Ctx) -> tuple[SymbolDecl, ...]:
    """`symbols`: name → scalar | vector(d) | matrix(d1, d2)."""
    decls: list[SymbolDecl] = []
    for name, raw, where in _entries(node, "symbols", ctx, "{A: matrix(m, n), x: vector(n)}"):
        text = _plain(raw)
        match = DECLARATION.fullmatch(_restore(text)) if isinstance(text, str) else None
        kind, *parts = [group for group in match.groups() if group] if match else ["?"]
        numbers = [d for d in parts if d.isdigit()]
        if big := [d for d in numbers if len(d.lstrip("0")) > 2 or int(d) > limits.MAX_DIMENSION]:
            ctx.error(
                where,
                f"symbol {_shown(name, quote=False)}: a dimension written as a number is at most "
                f"{limits.MAX_DIMENSION}, not {_shown(big[0], quote=False)}",
                _DIM_HINT,
            )
            continue
        dims = tuple(int(d) if d.isdigit() else d for d in parts)
        if match is None or 0 in dims:
            shown = _shown(_restore(text)) if isinstance(text, str) else _describe(text)
            ctx.error(where, f"symbol {_shown(name, quote=False)}: {shown} is not a shape",
                      _DECL_HINT)
        else:
            decls.append(SymbolDecl(name, kind, dims))
    return tuple(decls)


def _read_assume(node: Mapping[Any, Any], ctx: _Ctx) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`assume`: name → a list of names from model.ASSUMPTIONS (or a single one)."""
    known = "known: " + ", ".join(model.ASSUMPTIONS)
    found: list[tuple[str, tuple[str, ...]]] = []
    for name, raw, where in _entries(node, "assume", ctx, "{A: [symmetric]}"):
        names = _strings(raw)
        if names is None:
            ctx.error(
                where,
                f"assume {_shown(name, quote=False)}: {_describe(raw)}, not a list of names",
                f"write {_shown(name, quote=False)}: [symmetric]; {known}",
            )
            continue
        for bad in (a for a in names if a not in model.ASSUMPTIONS):
            ctx.error(
                where,
                f"unknown assumption {_shown(bad)} for {_shown(name, quote=False)}",
                _suggest(bad.lower(), model.ASSUMPTIONS, known),
            )
        found.append((name, tuple(dict.fromkeys(names))))
    return tuple(found)


def _entries(
    node: Mapping[Any, Any], field: str, ctx: _Ctx, example: str
) -> list[tuple[str, Any, Position]]:
    """(name, value, where) under `symbols` or `assume`; a name is one word without spaces."""
    table = node.get(field)
    if table is not None and not isinstance(table, Mapping):
        ctx.error(
            ctx.at(node, field),
            f"`{field}` is {_describe(table)}, not a mapping",
            f"write {field}: {example}",
        )
    if not isinstance(table, Mapping):
        return []
    entries = []
    for name, raw in table.items():
        if isinstance(name, str) and re.fullmatch(r"\S+", name):
            entries.append((name, raw, ctx.at(table, name)))
        else:
            ctx.error(
                ctx.at(table, name, of_key=True),
                f"{field}: {_shown(name)} is not a name",
                "a name is one word without spaces, e.g. A, x, W1, b_2, λ",
            )
    return entries


def _read_tags(node: Mapping[Any, Any], ctx: _Ctx) -> tuple[str, ...]:
    """`tags`: a list of strings, or one string."""
    raw = node.get("tags")
    names = _strings(raw) if raw is not None else []
    if names is None or not all(name.strip() for name in names):
        what = "has an empty tag" if names else f"is {_describe(raw)}, not a list of words"
        ctx.error(ctx.at(node, "tags"), f"`tags` {what}", "write tags: [quadratic, trace]")
        return ()
    return tuple(names)


def _choice(node: Mapping[Any, Any], key: str, enum: type[_E], ctx: _Ctx) -> _E | None:
    """The enum member named by the value of `key` (layout, expect), if given and known."""
    text = _text(node, key, ctx)
    names = [member.value for member in enum]
    if text is None or text in names:
        return None if text is None else enum(text)
    ctx.error(
        ctx.at(node, key),
        f"`{key}` is {_shown(text)}, not {' or '.join(names)}",
        _suggest(text.lower(), names, "write " + " or ".join(names)),
    )
    return None


def _text(node: Mapping[Any, Any], key: str, ctx: _Ctx, *, number_ok: bool = False) -> str | None:
    """The string value of `key` (None when absent); another type or an empty text is reported."""
    if key not in node:
        return None
    value = _plain(node[key])
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = ctx.number_text(node, key) or _number(value)
        if number_ok and number is not None:
            value = number  # as written: `1e-3` stays `1e-3`, and positions in it stay right
    if isinstance(value, str) and value.strip():
        return _restore(value.rstrip("\n"))
    if isinstance(value, str) or value is None:
        ctx.error(ctx.at(node, key), f"`{key}` is empty", f"write the {key} after '{key}:'")
    else:
        ctx.error(
            ctx.at(node, key),
            f"`{key}` is {_describe(value, number)}, not a string",
            f'quote it: {key}: "{(number or "...")[:_SHOWN]}"',
        )
    return None


def _strings(value: Any) -> list[str] | None:
    """A single string as a list, a list of strings as is; None for anything else."""
    value = _plain(value)
    if isinstance(value, str):
        return [_restore(value)]
    items = [_plain(item) for item in value] if isinstance(value, list | tuple) else None
    ok = items is not None and all(isinstance(item, str) for item in items)
    return [_restore(item) for item in items] if ok and items is not None else None


def _where(node: Mapping[Any, Any], ctx: _Ctx) -> tuple[_Positions, frozenset[str]]:
    """Where each value starts (a derivative's also as `rhs`), and which values are quoted."""
    entries = [(key, node, key) for key in node if key in FIELDS]
    entries += [("rhs", node, key) for key in _KINDS if key in node]
    for field in ("symbols", "assume"):
        if isinstance(table := node.get(field), Mapping):
            entries += [(f"{field}.{name}", table, name) for name in table]
    positions = tuple((label, ctx.at(owner, key)) for label, owner, key in entries)
    quoted = frozenset(label for label, owner, key in entries if isinstance(owner[key], _QUOTES))
    return positions, quoted


def _own_tag(value: Any) -> str | None:
    """The explicit YAML tag of this node (`!!python/...`, `!custom`), unless it is `!!str`."""
    tag = getattr(getattr(value, "tag", None), "value", None)
    if not tag or tag == "tag:yaml.org,2002:str":
        return None
    return str(tag).replace("tag:yaml.org,2002:", "!!")


def _bad_tag(value: Any) -> str | None:
    """The first explicit YAML tag in this value or anything inside it (keys too). Iterative,
    and each node object is visited once: aliases share nodes, and a value can be deep."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if tag := _own_tag(item):
            return tag
        if isinstance(item, Mapping):
            stack += reversed([part for pair in item.items() for part in pair])
        elif isinstance(item, list | tuple):
            stack += reversed(item)
    return None


def _plain(value: Any) -> Any:
    """A `!!str`-tagged scalar as its text; anything else as is."""
    return value.value if isinstance(value, TaggedScalar) and not _own_tag(value) else value


def _restore(text: str) -> str:
    """Undo the comma stand-in used while parsing."""
    return text.replace(_COMMA, ",")


def _describe(value: Any, number: str | None = None) -> str:
    """`a number (3)`, `a list`, `tagged !!python/...` ... for messages."""
    if tag := _own_tag(value):
        return f"tagged {tag} (tags are not allowed)"
    if value is None or isinstance(value, bool):
        return "empty" if value is None else "a boolean"
    if isinstance(value, int | float):
        number = number or _number(value)
        return f"a number ({number[:_SHOWN]})" if number else "a number"
    names = {Mapping: "a mapping", list: "a list", tuple: "a list", str: "a string"}
    return next((n for t, n in names.items() if isinstance(value, t)), f"a {type(value).__name__}")


def _number(value: int | float) -> str | None:
    """A number as text; None for an int too long for `str` (Python's digit limit)."""
    try:
        return str(value)
    except ValueError:
        return None


def _shown(value: Any, *, quote: bool = True) -> str:
    """A name or text from the file, for a message: quoted, and cut short when long."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _number(value) or "a long number"
    if not isinstance(value, str):
        return f"({_describe(value)})"
    text = _restore(value)
    text = text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
    return f"'{text}'" if quote else text


def _suggest(name: str, choices: Sequence[str], otherwise: str) -> str:
    """`did you mean 'x'?` for the closest of `choices`, else `otherwise`."""
    if len(name) > 2 * _SHOWN:
        return otherwise
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else otherwise
