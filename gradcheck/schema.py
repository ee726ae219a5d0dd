"""The JSON Schema of a rule file, generated from what the reader accepts (catalog.FIELDS, the
id and declaration patterns, the kinds, layouts, expectations and assumptions), for editors:
`gradcheck schema > gradcheck.schema.json`, then in a rule file

    # yaml-language-server: $schema=gradcheck.schema.json

The reader stays the authority: the schema cannot say that a claim parses or types
(`gradcheck lint` does), only that the file has the right keys and value kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .assumptions import DECLARABLE
from .catalog import DECLARATION, FIELDS, RULE_ID
from .model import Expect, Kind, Layout

DIALECT = "http://json-schema.org/draft-07/schema#"  # what YAML editors' servers read best

# What each key of a rule means (the editor shows it on hover); a test checks that every key
# of catalog.FIELDS has one.
HELP: Mapping[str, str] = {
    "id": "A unique name: letters, digits, '.', '_', '-'. It seeds the rule's inputs.",
    "title": "A one-line title.",
    "source": "Where the rule comes from (a book, a paper, an equation number).",
    "note": "Anything a reader should know.",
    "correct": "The id of the correct twin of a rule that records a mistake.",
    "claim": "The rule on one line, e.g. '∇_x (xᵀAx) = (A + Aᵀ)x' or LaTeX.",
    "f": "The function (structured form, with `wrt` and one kind).",
    "wrt": "The variable the derivative is taken by (structured form).",
    "gradient": "The claimed gradient of f by wrt (structured form).",
    "jacobian": "The claimed Jacobian of f by wrt (structured form).",
    "hessian": "The claimed Hessian of f by wrt (structured form).",
    "differential": "The claimed differential of f (structured form).",
    "symbols": "Shapes: name → scalar, vector(n) or matrix(m, n).",
    "assume": "Assumptions: name → one of them, or a list.",
    "layout": "denominator (the default: ∇ₓf has x's shape) or numerator.",
    "expect": "holds (the default) or fails: a rule that records a common mistake.",
    "tags": "Words to select rules by (`--tag`).",
}
_TEXT_OR_NUMBER = {"type": ["string", "number"]}


def _field(key: str) -> dict[str, Any]:
    assumption = {"type": "string", "enum": list(DECLARABLE)}
    kinds: dict[str, dict[str, Any]] = {
        "id": {"type": "string", "pattern": f"^{RULE_ID.pattern}$"},
        "f": _TEXT_OR_NUMBER,
        "symbols": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": f"^{DECLARATION.pattern}$"},
        },
        "assume": {
            "type": "object",
            "additionalProperties": {
                "oneOf": [assumption, {"type": "array", "items": assumption, "minItems": 1}]
            },
        },
        "layout": {"type": "string", "enum": [m.value for m in Layout]},
        "expect": {"type": "string", "enum": [m.value for m in Expect]},
        "tags": {
            "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}},
            ]
        },
    }
    kinds.update({kind.value: _TEXT_OR_NUMBER for kind in Kind})
    return {**kinds.get(key, {"type": "string", "minLength": 1}), "description": HELP[key]}


def rule_file_schema() -> dict[str, Any]:
    """The schema of a whole rule file (`rules:` and a list of rules)."""
    structured = [{"required": ["f", "wrt", kind.value]} for kind in Kind]
    rule = {
        "type": "object",
        "description": "One rule: `claim`, or `f`, `wrt` and one kind.",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {key: _field(key) for key in FIELDS},
        "oneOf": [
            {"required": ["claim"], "not": {"anyOf": [{"required": ["f"]}, {"required": ["wrt"]}]}},
            {"not": {"required": ["claim"]}, "oneOf": structured},
        ],
    }
    return {
        "$schema": DIALECT,
        "title": "gradcheck rule file",
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {"rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}}},
        "definitions": {"rule": rule},
    }
