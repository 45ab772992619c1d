"""Report notebooks in one shared kernel (a batch worker's regions): each runs as if the kernel were fresh."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evalkit.errors import NotebookFailed
from evalkit.report.execute import Template, execute, shared_kernel

PARAMETERS = '# %% tags=["parameters"]\nvalue = 0\n'


def template(directory, name: str, body: str) -> Template:
    path = directory / f"{name}.py"
    path.write_text(PARAMETERS + "# %%\n" + body, encoding="utf-8")
    return Template(name, str(path), None, hashlib.sha256(path.read_bytes()).hexdigest())


def printed(nb) -> dict:
    """The JSON the notebook's last cell printed."""
    return json.loads(nb.cells[-1].outputs[-1]["text"])


REPORT = ("import json, os\n"
          "print(json.dumps({'pid': os.getpid(), 'cwd': os.path.realpath(os.getcwd()), 'value': value,\n"
          "                  'seen': sorted(k for k in ('left_behind', 'value') if k in globals())}))\n"
          "left_behind = value\n")


def test_a_shared_kernel_runs_each_notebook_as_if_fresh(tmp_path):
    first = template(tmp_path, "first", REPORT)
    failing = template(tmp_path, "failing", "assert value != 3, 'deliberate failure'\n")
    runs = []
    with shared_kernel():
        for k, tpl in enumerate([first, first, failing, first], start=1):
            cwd = tmp_path / f"run{k}"
            cwd.mkdir()
            try:
                runs.append((cwd, execute(tpl, {"value": k}, cwd, timeout=120)))
            except NotebookFailed as exc:
                runs.append((cwd, exc))
    (cwd1, nb1), (cwd2, nb2), (_, failed), (cwd4, nb4) = runs
    one, two, four = printed(nb1), printed(nb2), printed(nb4)
    assert one["pid"] == two["pid"]  # the same kernel: imports and fonts are loaded once
    assert (one["cwd"], two["cwd"], four["cwd"]) == (str(cwd1.resolve()), str(cwd2.resolve()), str(cwd4.resolve()))
    assert (one["value"], two["value"], four["value"]) == (1, 2, 4)  # parameters injected each time
    assert two["seen"] == ["value"]  # nothing left from the notebook before
    # execution counts start again at 1: parameters, injected parameters, then the template's cell
    assert [c.execution_count for c in nb2.cells if c.cell_type == "code"] == [1, 2, 3]
    assert isinstance(failed, NotebookFailed)
    assert (failed.notebook, failed.cell) == ("failing", 3) and "deliberate failure" in failed.error
    assert four["pid"] != two["pid"]  # after a failure the next notebook gets a fresh kernel


def test_without_a_shared_kernel_each_notebook_has_its_own(tmp_path):
    first = template(tmp_path, "first", REPORT)
    pids = [printed(execute(first, {"value": k}, tmp_path, timeout=120))["pid"] for k in (1, 2)]
    assert pids[0] != pids[1]


def test_a_shared_kernel_takes_a_relative_directory(tmp_path, monkeypatch):
    """`evalkit report --out reports/demo` renders in a relative directory; the kernel works elsewhere."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    with shared_kernel():
        nb = execute(template(tmp_path, "first", REPORT), {"value": 1}, Path("out"), timeout=120)
    assert printed(nb)["cwd"] == str((tmp_path / "out").resolve())


def test_a_notebook_becomes_its_outputs_only():
    import nbformat.v4 as v4

    from evalkit.report.document import part_body

    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("a note for template authors"),
        v4.new_code_cell("x = 1"),  # no output: nothing
        v4.new_code_cell("show()", outputs=[
            v4.new_output("display_data", data={"text/html": ["<h2>标题</h2>", "<p>x</p>"], "text/plain": "<HTML>"}),
            v4.new_output("stream", name="stderr", text="FutureWarning: noise\n"),
            v4.new_output("stream", name="stdout", text="a < b\n"),
            v4.new_output("execute_result", data={"text/plain": "'O&M'"}, execution_count=3),
            v4.new_output("display_data", data={"image/svg+xml": "<svg/>"}),
        ]),
    ])
    body, dropped = part_body(nb)
    assert body == ('<h2>标题</h2><p>x</p>\n<div class="output_stdout"><pre>a &lt; b\n</pre></div>\n'
                    '<div class="output_text"><pre>\'O&amp;M\'</pre></div>\n'
                    '<img alt="" src="data:image/svg+xml;base64,PHN2Zy8+"/>')
    assert dropped == ["FutureWarning: noise\n"]
    assert "note for template authors" not in body and "x = 1" not in body and "show()" not in body
