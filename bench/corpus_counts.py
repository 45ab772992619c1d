"""Count the hardening corpus by category, for the issue's closing note.

Every case of ``tests/test_hardening.py`` carries ``@pytest.mark.corpus(after, before=...)``:
its outcome now and the one the hardening probe found. Categories: ``named error`` (refused
with a message saying what and where, exit 1 or 2), ``correct handling`` (read, warned or
written as it should be), and, before the fixes only, ``traceback``, ``silent acceptance``
and ``wrong output``. Cases are counted once per parameter set, as pytest runs them.

    python bench/corpus_counts.py            # the table
    python bench/corpus_counts.py --check    # exit 1 if a case is untagged or still failing

Only collects the tests (nothing is run): a few seconds.
"""
from __future__ import annotations

import contextlib
import io
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "test_hardening.py"
GOOD = ("named error", "correct handling")
BAD = ("traceback", "silent acceptance", "wrong output")


class _Collect:
    def __init__(self):
        self.cases: list[tuple[str, str | None, str | None]] = []  # node id, before, after

    def pytest_collection_modifyitems(self, items):
        for item in items:
            # a parameter set's own mark comes after the function's: the last one is the closest
            marks = [m for m in item.own_markers if m.name == "corpus"]
            if not marks:
                self.cases.append((item.nodeid, None, None))
                continue
            after = marks[-1].args[0]
            self.cases.append((item.nodeid, marks[-1].kwargs.get("before", after), after))


def collect(path: Path = CORPUS) -> list[tuple[str, str | None, str | None]]:
    """(node id, before, after) of every corpus case."""
    plugin = _Collect()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(["--collect-only", "-qq", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                            "-o", "addopts=", str(path)], plugins=[plugin])
    if code not in (0, 5):
        raise SystemExit(f"collecting {path} failed (pytest exit code {code})")
    return plugin.cases


def table(cases) -> str:
    before = Counter(b for _, b, a in cases if a)
    after = Counter(a for _, b, a in cases if a)
    rows = [f"{'category':<20}{'before':>8}{'after':>8}"]
    for category in (*GOOD, *BAD):
        rows.append(f"{category:<20}{before[category]:>8}{after[category]:>8}")
    rows.append(f"{'cases':<20}{sum(before.values()):>8}{sum(after.values()):>8}")
    return "\n".join(rows)


def problems(cases) -> list[str]:
    """Untagged cases, unknown categories, and cases whose outcome now is a failure category."""
    found = []
    for node, before, after in cases:
        if after is None:
            found.append(f"{node}: no corpus mark")
        elif after not in GOOD:
            found.append(f"{node}: outcome {after!r} (must be one of {', '.join(GOOD)})")
        elif before not in GOOD + BAD:
            found.append(f"{node}: unknown category before, {before!r}")
    return found


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cases = collect()
    print(table(cases))
    found = problems(cases)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main())
