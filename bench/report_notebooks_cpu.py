"""CPU per region of a report's notebooks run in this process: the kernel's share of a batch,
without kernel start-up, messaging or page assembly, so two versions of the code compare with
less noise than ``report_cpu.py`` (run each with its ``PYTHONPATH``, alternating).

    PYTHONPATH=$PWD python bench/report_notebooks_cpu.py OUT/results.parquet --regions R0701,R0101,R0201

``results.parquet`` is what ``evalkit report`` (or ``bench_report.py --keep DIR``) wrote. Each
template's code cells run in order in one IPython shell (as in a batch worker's kernel), with
the parameters a batch passes; the first region pays the imports and is left out of the mean.
Prints each region's CPU seconds per part and the mean over the other regions.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path


def template_code(path: Path, params: dict) -> str:
    """A template's code cells, its parameters replaced after the tagged cell."""
    import jupytext

    cells = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        cells.append(cell.source)
        if "parameters" in cell.metadata.get("tags", []):
            cells.append("\n".join(f"{k} = {v!r}" for k, v in params.items()))
    return "\n".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("--regions", required=True, help="Comma-separated region ids; the first warms up.")
    ap.add_argument("--notebooks", type=Path, help="Templates (default: evalkit's, as a report finds them).")
    args = ap.parse_args()
    from IPython.core.interactiveshell import InteractiveShell

    from evalkit.report.execute import find_templates

    parts = find_templates(args.notebooks)  # the parts of a report, in its order

    shell = InteractiveShell.instance()
    regions = args.regions.split(",")
    totals = []
    for region in regions:
        params = {"results_path": str(args.results.resolve()), "region": region, "period": "", "lang": "zh",
                  "targets_path": "", "min_cell": 10, "by": "hukou,urban", "params": "{}"}
        seconds = {}
        for part in parts:
            code = template_code(Path(part.path), params)
            c0 = time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):  # displays go nowhere
                result = shell.run_cell(code)
            result.raise_error()
            seconds[part.name] = time.process_time() - c0
        totals.append(sum(seconds.values()))
        print(region, " ".join(f"{p} {s:.2f}" for p, s in seconds.items()), f"total {totals[-1]:.2f} s CPU")
    if len(totals) > 1:
        print(f"mean over {len(totals) - 1} regions after the first: {sum(totals[1:]) / (len(totals) - 1):.2f} s CPU")


if __name__ == "__main__":
    main()
