"""Every test session gets its own empty result cache (gradcheck.cache): the commands the tests
run in subprocesses inherit it, so no test reads a verdict another session, or the user, left."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_SESSION_CACHE = tempfile.mkdtemp(prefix="gradcheck-test-cache-")


def pytest_configure(config: pytest.Config) -> None:
    os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
