"""The one exception for unreadable input: a message, where, and what to write instead."""

from __future__ import annotations


class RuleError(Exception):
    """Input that cannot be read or typed; `offset` points into the expression text."""

    def __init__(self, message: str, offset: int = 0, hint: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint
        self.field = field
