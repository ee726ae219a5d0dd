"""Verdicts ↔ JSON, exactly: what the result cache stores (cache.py) and hashes its keys from.

Only the classes registered here are ever built from a file: decoding reads data, never code.
Floats round-trip through repr (inf and nan too), tuples stay tuples and fractions fractions,
so a decoded verdict equals the one encoded.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from fractions import Fraction
from typing import Any

from .lang import ast
from .model import (
    Category,
    Counterexample,
    CrossCheck,
    Diagnosis,
    Diagnostic,
    Expect,
    Kind,
    Layout,
    NumericEvidence,
    Position,
    Statement,
    Status,
    SymbolicEvidence,
    SymbolicStatus,
    Verdict,
)

_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Verdict,
        Position,
        SymbolicEvidence,
        NumericEvidence,
        Counterexample,
        CrossCheck,
        Diagnostic,
        Diagnosis,
        Statement,
        ast.Sym,
        ast.Num,
        ast.Const,
        ast.Dir,
        ast.Call,
    )
}
_ENUMS: dict[str, type[Enum]] = {
    cls.__name__: cls
    for cls in (Status, Expect, Kind, Layout, SymbolicStatus, Category, ast.Spelling)
}


class DecodeError(ValueError):
    """The data is not an encoded verdict of this version: a corrupt or foreign cache entry."""


def encode(value: Any, *, positions: bool = True) -> Any:
    """`value` as JSON data; `positions=False` leaves out where each AST node was written (a
    key must not depend on the formatting)."""
    if isinstance(value, Enum):
        return {"@enum": type(value).__name__, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        assert _CLASSES.get(name) is type(value), f"{name} is not registered in codec.py"
        fields = {
            f.name: encode(getattr(value, f.name), positions=positions)
            for f in dataclasses.fields(value)
            if (positions or not (isinstance(value, ast.Node) and f.name == "pos"))
            # typing resolves every spelling: a stored tree only ever has the default
            and getattr(value, f.name) is not ast.Spelling.PLAIN
        }
        return {"@": name, **fields}
    if isinstance(value, tuple):
        return {"@tuple": [encode(v, positions=positions) for v in value]}
    if isinstance(value, list):
        return [encode(v, positions=positions) for v in value]
    if isinstance(value, frozenset):
        return {"@frozenset": sorted((encode(v, positions=positions) for v in value), key=repr)}
    if isinstance(value, dict):
        return {"@dict": [[k, encode(v, positions=positions)] for k, v in value.items()]}
    if isinstance(value, Fraction):
        return {"@fraction": [value.numerator, value.denominator]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(data: Any) -> Any:
    """The value `encode` gave `data` for; DecodeError for anything else."""
    try:
        return _decode(data)
    except DecodeError:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        ArithmeticError,
        AttributeError,
        RecursionError,
    ) as err:
        raise DecodeError(f"not an encoded value: {type(err).__name__}: {err}") from None


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(v) for v in data]
    if not isinstance(data, dict):
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        raise DecodeError(f"unexpected {type(data).__name__}")
    if "@" in data:
        cls = _CLASSES.get(data["@"])
        if cls is None:
            raise DecodeError(f"unknown class {data['@']!r}")
        fields = {k: _decode(v) for k, v in data.items() if k != "@"}
        return cls(**fields)
    if "@enum" in data:
        enum = _ENUMS.get(data["@enum"])
        if enum is None:
            raise DecodeError(f"unknown enum {data['@enum']!r}")
        return enum(data["value"])
    if "@tuple" in data:
        return tuple(_decode(v) for v in data["@tuple"])
    if "@frozenset" in data:
        return frozenset(_decode(v) for v in data["@frozenset"])
    if "@dict" in data:
        return {k: _decode(v) for k, v in data["@dict"]}
    if "@fraction" in data:
        numerator, denominator = data["@fraction"]
        return Fraction(int(numerator), int(denominator))
    raise DecodeError("a mapping without a type tag")
