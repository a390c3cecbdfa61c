"""Cause codes in words, for people reading the dashboard.

The sentences belong to the engine (`recon.reconcile.describe.CAUSE_TEXT`); this module only
looks them up, and falls back to a readable form of the code when the engine has none.
It must not invent explanations of its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

__all__ = ["cause_text"]


def _engine_texts() -> Mapping[str, str]:
    try:
        module = importlib.import_module("recon.reconcile.describe")
    except ImportError:
        return {}
    texts = getattr(module, "CAUSE_TEXT", None)
    return texts if isinstance(texts, Mapping) else {}


def cause_text(code: str | None, texts: Mapping[str, str] | None = None) -> str:
    """The engine's sentence for `code`, else the code itself with spaces for underscores."""
    if not code:
        return ""
    table = _engine_texts() if texts is None else texts
    text = table.get(code)
    if isinstance(text, str) and text:
        return text
    return code.replace("_", " ")
