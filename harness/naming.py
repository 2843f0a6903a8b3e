"""File-system names for things that have human names (phones, tests, devices)."""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str, default: str = "unnamed") -> str:
    """``"QA iPhone 15 (A)"`` -> ``"QA_iPhone_15_A"``: letters, digits, ``_ . -`` only, never empty."""
    return _UNSAFE.sub("_", name).strip("_") or default
