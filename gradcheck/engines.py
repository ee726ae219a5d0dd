"""The checks' engines (torch, hypothesis, sympy), imported when a check first needs them.

In the command line's own process what the imports made is then frozen out of the garbage
collector (`gc.freeze`): torch and sympy leave some 200,000 objects that every full
collection would walk again, 0.1 s each time (hypothesis runs one on its first search), for
objects that live as long as the process. The freeze is left to the command line: in a
user's process (the pytest plugin, `gradcheck.testing`) it would also keep any garbage of
theirs alive at that moment.
"""

from __future__ import annotations

import gc


class _State:
    freeze = False  # set by the command line
    loaded = False


def freeze_after_import() -> None:
    """Ask `load` to freeze the imports' objects (the command line's process only)."""
    _State.freeze = True


def load() -> None:
    """Import the engines once; freeze what they made if the command line asked for it."""
    if _State.loaded:
        return
    from . import numeric, symbolic  # noqa: F401 - imported for their side effect: loaded

    _State.loaded = True
    if _State.freeze:
        gc.freeze()
