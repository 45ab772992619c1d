"""Executing one report notebook: templates found by name, run with papermill in a fresh kernel.

A template is a jupytext percent-format ``.py`` file (``scorecard.py`` or ``<family>.py``),
turned into a notebook in memory and executed with its parameters injected. A failing
cell becomes :class:`evalkit.errors.NotebookFailed` naming the template, the cell and the
error.

Kernels talk over IPC sockets in a private temporary directory: parallel kernels over
TCP collide on ports ("Address already in use").
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import NotebookFailed, ReportError
from evalkit.indicators.catalogue import load_catalogue

KERNEL = "python3"
START_TIMEOUT = 60


# -- templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A report notebook template: ``scorecard.py`` or ``<family>.py`` (jupytext percent format)."""

    name: str
    path: str
    family: str | None
    sha256: str


def notebooks_dir(override=None) -> Path:
    """Where the templates are: ``override``, ``$EVALKIT_NOTEBOOKS``, the source tree's
    ``notebooks/``, or ``<prefix>/share/evalkit/notebooks`` of an installed wheel."""
    candidates = []
    if override:
        candidates.append(Path(override))
    elif os.environ.get("EVALKIT_NOTEBOOKS"):
        candidates.append(Path(os.environ["EVALKIT_NOTEBOOKS"]))
    else:
        candidates.append(Path(__file__).resolve().parents[2] / "notebooks")
        candidates.append(Path(sys.prefix) / "share" / "evalkit" / "notebooks")
    for path in candidates:
        if path.is_dir():
            return path
    raise ReportError(f"no report templates: {' or '.join(str(p) for p in candidates)} is not a directory "
                      "(pass --notebooks DIR)")


def find_templates(directory=None) -> list[Template]:
    """The scorecard first, then one template per catalogue family, in catalogue order, then
    the methods and data-quality appendix (``appendix.py``).

    Other files are ignored, so a ``coordination.py`` dropped into the directory becomes
    part of every report once the coordination family has indicators.
    """
    directory = notebooks_dir(directory)
    families = list(load_catalogue().families)
    order = ["scorecard", *families, "appendix"]
    found = {p.stem: p for p in directory.glob("*.py") if p.stem in order}
    if not found:
        raise ReportError(f"{directory} has no report templates (scorecard.py or one of "
                          f"{', '.join(f + '.py' for f in families)})")
    return [Template(name, str(found[name].resolve()), None if name in ("scorecard", "appendix") else name,
                     hashlib.sha256(found[name].read_bytes()).hexdigest())
            for name in order if name in found]


def part_title(template_name: str, lang: str) -> str:
    """A part's title: the scorecard's, the appendix's, or its family's name from the catalogue."""
    from .text import t

    if template_name in ("scorecard", "appendix"):
        return t(template_name, lang)
    fam = load_catalogue().families[template_name]
    return fam["name_zh"] if lang == "zh" else fam["name_en"]


# -- execution -----------------------------------------------------------------------------

def execute(template: Template, parameters: dict, cwd: Path, timeout: float, output_path: Path | None = None):
    """Execute a template with papermill in a fresh kernel over IPC sockets; the executed
    notebook is also written to ``output_path`` (default ``cwd/<name>.ipynb``).

    Raises :class:`NotebookFailed` when a cell fails.
    """
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = jupytext.read(template.path)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    try:
        with _kernel_env():
            return papermill.execute_notebook(
                nb, str(output_path or cwd / f"{template.name}.ipynb"), parameters=parameters,
                kernel_name=KERNEL, language="python", progress_bar=False, log_output=False,
                request_save_on_cell_execute=False, start_timeout=START_TIMEOUT, execution_timeout=timeout,
                cwd=str(cwd), config=_kernel_config(), shutdown_kernel="immediate",
            )
    except PapermillExecutionError as exc:
        raise NotebookFailed(template.name, exc.exec_count, f"{exc.ename}: {exc.evalue}") from exc


_PRIVATE: list[Path] = []


def _private_dir() -> Path:
    """A per-process directory (mode 700) for kernel sockets and connection files."""
    if not _PRIVATE:
        path = Path(tempfile.mkdtemp(prefix="evalkit-kernels-"))
        os.chmod(path, 0o700)
        atexit.register(shutil.rmtree, path, True)
        _PRIVATE.append(path)
    return _PRIVATE[0]


def _kernel_config():
    """Kernel settings: IPC sockets and the connection file (with its key) in the private
    directory; otherwise jupyter_client puts the connection file in the shared /tmp."""
    import uuid

    from traitlets.config import Config

    stem = _private_dir() / f"kernel-{uuid.uuid4().hex[:12]}"
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = f"{stem}-ipc"
    config.KernelManager.connection_file = f"{stem}.json"
    return config


@contextlib.contextmanager
def _kernel_env():
    """Environment kernels inherit: private runtime dir, non-GUI matplotlib, quiet debugger."""
    settings = {"JUPYTER_RUNTIME_DIR": str(_private_dir()), "MPLBACKEND": "agg",
                "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
