"""The hardening corpus stays countable: every case of tests/test_hardening.py is tagged with its
category, and none is a traceback, a silent acceptance or a wrong output (bench/corpus_counts.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_corpus_case_is_tagged_and_none_fails():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "corpus_counts.py"), "--check"], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert run.returncode == 0, run.stderr
    counts = {line[:20].strip(): line[20:].split() for line in run.stdout.splitlines()[1:]}
    assert int(counts["cases"][1]) >= 55
    assert all(counts[c][1] == "0" for c in ("traceback", "silent acceptance", "wrong output"))
