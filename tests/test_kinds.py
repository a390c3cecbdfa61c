"""One vocabulary: every exception kind is defined once, in `recon.kinds`, and the engine, the
dashboard and the alerts read it from there."""

from __future__ import annotations

import ast
from pathlib import Path

from recon import kinds
from recon.alerts import settings as alert_settings
from recon.app import filters
from recon.reconcile import describe

SRC = Path(kinds.__file__).parent
NAMES = {k.name for k in kinds.KINDS}


def test_each_kind_once_with_an_owner_words_and_a_fix() -> None:
    names = [k.name for k in kinds.KINDS]
    assert len(names) == len(set(names))
    for k in kinds.KINDS:
        assert k.owner in kinds.OWNERS, k
        assert k.words and k.fix.startswith(k.owner.capitalize() + ":"), k  # who fixes it
        assert not k.money or k.owner == kinds.FINANCE, k  # ops kinds count units, not money


def test_engine_dashboard_and_alerts_read_the_one_table() -> None:
    #  reader                                         -> what it holds
    assert tuple(k.name for k in kinds.KINDS) == filters.KINDS
    assert set(filters.OPS_KINDS) == {k.name for k in kinds.KINDS if k.owner == kinds.OPS}
    assert {k.name for k in kinds.KINDS if k.money} == filters.MONEY_KINDS
    assert filters.OWNERS == alert_settings.OWNERS == kinds.OWNERS
    assert {k.name: k.words for k in kinds.KINDS} == describe.KIND_TEXT
    assert {k.name: k.fix for k in kinds.KINDS} == describe.OWNER_FIX
    assert {k.name: k.severity for k in kinds.KINDS} == describe.SEVERITY


def _second_vocabularies(path: Path) -> list[str]:
    """Places in `path` that list the kinds again: a table keyed by kinds, a list of more
    than five of them, or the owners spelled out."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            items = node.keys
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        else:
            continue
        words = [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]
        listed = [w for w in words if w in NAMES]
        keyed = isinstance(node, ast.Dict) and len(listed) >= 2
        if keyed or len(listed) > 5 or words == list(kinds.OWNERS):
            found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    return found


def test_nothing_else_defines_the_kinds_or_the_owners() -> None:
    modules = [p for p in sorted(SRC.rglob("*.py")) if p != Path(kinds.__file__)]
    found = [place for p in modules for place in _second_vocabularies(p)]
    assert found == []
