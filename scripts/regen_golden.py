#!/usr/bin/env python
# =============================================================================
#  REGENERATES THE GOLDEN CORPUS (tests/golden/*.json).
#
#  The golden files pin the frozen IR JSON, both shapes and the artifact hash
#  of every fixture as literal values. CHANGING THEM IS A DELIBERATE, REVIEWED
#  FORMAT CHANGE: artifacts frozen by released versions must keep their
#  hashes and meaning. Run this only when you mean to change the wire format
#  (or add a fixture), then review `git diff tests/golden/` line by line and
#  say why in the commit message.
#
#  Usage:  .venv/bin/python scripts/regen_golden.py [fixture ...]
# =============================================================================
"""Rewrite tests/golden/<fixture>.json from tests/golden/fixtures.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
NOTE = (
    "Golden corpus: changing this file is a deliberate, reviewed format change. "
    "Regenerate with scripts/regen_golden.py."
)


def load_fixtures():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "src"))
    spec = importlib.util.spec_from_file_location("ca_golden_fixtures", GOLDEN / "fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def render(record: dict[str, object]) -> str:
    return json.dumps({"_note": NOTE, **record}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    fixtures = load_fixtures()
    names = argv or sorted(fixtures.FIXTURES)
    for name in names:
        if name not in fixtures.FIXTURES:
            print(f"unknown fixture {name!r}; known: {', '.join(sorted(fixtures.FIXTURES))}")
            return 2
        path = GOLDEN / f"{name}.json"
        text = render(fixtures.golden_record(name))
        old = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")
        print(f"{'unchanged' if old == text else 'WROTE'}  {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
