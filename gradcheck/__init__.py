"""gradcheck: verify matrix-calculus rules with a sympy proof and a torch.autograd check.

The public API is `check`, `check_report`, `verify` and `list_rules` (see `gradcheck.api`).
They are imported on first use, so that `import gradcheck` (and `gradcheck --help`) loads
neither sympy nor torch nor hypothesis.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradcheck.api import check, check_report, list_rules, verify

    __version__: str

__all__ = ["__version__", "check", "check_report", "list_rules", "verify"]

_API = frozenset({"check", "check_report", "list_rules", "verify"})


def __getattr__(name: str) -> Any:
    """`gradcheck.check` and the other API functions, imported from gradcheck.api on demand;
    `__version__` read from the installed metadata on demand (importlib.metadata alone takes
    longer to import than the rest of `import gradcheck`)."""
    if name in _API:
        return getattr(import_module("gradcheck.api"), name)
    if name == "__version__":
        globals()[name] = _installed_version()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradcheck")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
