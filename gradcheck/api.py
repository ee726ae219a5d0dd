"""The Python API: `check` one claim, `verify` rule files (filled in by verify.py)."""
