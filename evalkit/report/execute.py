"""Executing report notebooks: templates found by name, run with papermill.

A template is a jupytext percent-format ``.py`` file (``scorecard.py`` or ``<family>.py``),
turned into a notebook in memory and executed with its parameters injected. A failing
cell becomes :class:`evalkit.errors.NotebookFailed` naming the template, the cell and the
error.

A notebook runs in a fresh kernel, or within :func:`shared_kernel` (a batch worker) in the
worker's one kernel, its namespace cleared and working directory set before each notebook.
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
    """The scorecard first, then one template per catalogue family, in catalogue order,
    then the appendix (methods and data quality).

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
    return [Template(name, str(found[name].resolve()), name if name in families else None,
                     hashlib.sha256(found[name].read_bytes()).hexdigest())
            for name in order if name in found]


def part_title(template_name: str, lang: str) -> str:
    """A part's title: the scorecard's, or its family's name from the catalogue."""
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
    import_nbformat()
    import jupytext
    from papermill.exceptions import PapermillExecutionError

    nb = jupytext.read(template.path)
    try:
        return _papermill(nb, output_path or cwd / f"{template.name}.ipynb", parameters, cwd, timeout)
    except PapermillExecutionError as exc:
        raise NotebookFailed(template.name, exc.exec_count, f"{exc.ename}: {exc.evalue}") from exc


PART = "evalkit_part"  # cell metadata: the template a cell of a combined notebook comes from


def execute_parts(templates: list[Template], parameters: dict, cwd: Path, timeout: float) -> dict:
    """Execute several templates as one notebook in one kernel (imports, fonts and the
    results file are loaded once, not once per part); returns the executed notebook of
    each template by name, also written to ``cwd/<name>.ipynb``.

    Only the first template's parameters cell is kept, so papermill injects the parameters
    once and later parts do not reset them. A failing cell raises :class:`NotebookFailed`
    naming its own template and its execution count as if that template ran alone.
    """
    import_nbformat()
    import jupytext
    from papermill.exceptions import PapermillExecutionError

    if len(templates) == 1:
        return {templates[0].name: execute(templates[0], parameters, cwd, timeout)}
    combined = None
    for k, template in enumerate(templates):
        nb = jupytext.read(template.path)
        cells = [c for c in nb.cells if k == 0 or "parameters" not in c.get("metadata", {}).get("tags", [])]
        for cell in cells:
            cell.metadata[PART] = template.name
        if combined is None:
            combined, combined.cells = nb, []
        combined.cells += cells
    path = cwd / "report.ipynb"
    try:
        executed = _papermill(combined, path, parameters, cwd, timeout)
    except PapermillExecutionError as exc:
        import nbformat

        executed = nbformat.read(path, as_version=4) if path.exists() else None
        name, count = _failing_cell(executed, exc.cell_index, templates[0].name)
        if executed is not None:
            _split(executed, templates, cwd)
        raise NotebookFailed(name, count, f"{exc.ename}: {exc.evalue}") from exc
    finally:
        path.unlink(missing_ok=True)
    return _split(executed, templates, cwd)


def import_nbformat() -> None:
    """Import nbformat (which jupytext, papermill and nbconvert import) without the IRI
    checker of jsonschema: with ``rfc3987_syntax`` installed, importing jsonschema compiles
    its grammars (about 1.5 s per process), for a format no notebook schema uses."""
    if "jsonschema" in sys.modules:
        return
    saved = sys.modules.get("rfc3987_syntax")
    sys.modules["rfc3987_syntax"] = None  # an import of it raises ImportError: jsonschema goes without
    try:
        import nbformat  # noqa: F401
    finally:
        if saved is None:
            del sys.modules["rfc3987_syntax"]
        else:
            sys.modules["rfc3987_syntax"] = saved


def _papermill(nb, path: Path, parameters: dict, cwd: Path, timeout: float):
    """Run ``nb`` with papermill in this process's shared kernel (:func:`shared_kernel`), else
    in a fresh one shut down afterwards; the executed notebook is also written to ``path``."""
    if _SHARED:
        return _SHARED[-1].run(nb, path, parameters, cwd, timeout)
    kernel = Kernel()
    try:
        return kernel.run(nb, path, parameters, cwd, timeout)
    finally:
        kernel.shutdown()


# -- kernels ---------------------------------------------------------------------------------

_SHARED: list[Kernel] = []


@contextlib.contextmanager
def shared_kernel():
    """Within: every notebook this process executes runs in one kernel, started once (a batch
    worker's regions), instead of a fresh kernel each that imports evalkit, pandas and
    matplotlib and loads the fonts again (seconds per report)."""
    kernel = Kernel()
    _SHARED.append(kernel)
    try:
        yield kernel
    finally:
        _SHARED.remove(kernel)
        kernel.shutdown()


#: Run before each notebook: what a fresh kernel would have. The working directory is the
#: notebook's; no variable, figure or execution count is left from the previous notebook
#: (modules stay imported: that is the point).
RESET = """\
import os, sys
os.chdir({cwd!r})
if "matplotlib.pyplot" in sys.modules:
    sys.modules["matplotlib.pyplot"].close("all")
get_ipython().reset(new_session=True)  # the namespace cleared, execution counts from 1
"""


class Kernel:
    """A Python kernel that runs notebooks one after another, each as if the kernel were fresh
    (:data:`RESET`); started at the first notebook. After a notebook fails or times out the
    kernel is shut down, and the next notebook starts a new one."""

    def __init__(self):
        self.manager = None

    def run(self, nb, path: Path, parameters: dict, cwd: Path, timeout: float):
        """Run ``nb`` with papermill (parameters injected, the executed notebook written to
        ``path``) in ``cwd``."""
        import papermill

        nb.metadata.pop("jupytext", None)
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
        if self.manager is None:
            self.manager = _start_kernel()
        try:
            self._reset(Path(cwd).resolve())  # the kernel works elsewhere: a relative path would miss
            return papermill.execute_notebook(
                nb, str(path), parameters=parameters, kernel_name=KERNEL, language="python", progress_bar=False,
                log_output=False, request_save_on_cell_execute=False, start_timeout=START_TIMEOUT,
                execution_timeout=timeout, cwd=str(cwd), km=self.manager)
        except BaseException:
            self.shutdown()  # a failed cell may leave anything behind (or a cell still running)
            raise
        finally:
            if self.manager is not None:
                self.manager.close_clients()

    def _reset(self, cwd: Path) -> None:
        client = self.manager.client()
        try:
            client.start_channels()
            run_sync(client.wait_for_ready)(timeout=START_TIMEOUT)
            reply = run_sync(client.execute_interactive)(RESET.format(cwd=str(cwd)), silent=True,
                                                         timeout=START_TIMEOUT)
        finally:
            self.manager.close_clients()
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not reset the kernel: {reply['content'].get('evalue')}")

    def shutdown(self) -> None:
        """Stop the kernel now (no-op when not started)."""
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.close_clients()
            with contextlib.suppress(Exception):  # already dead: nothing to stop
                run_sync(manager.shutdown_kernel)(now=True)


def run_sync(coroutine_function):
    """``coroutine_function`` as a blocking call (jupyter_core's, imported only when kernels run)."""
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)


def _start_kernel():
    """A started kernel over IPC sockets in the private directory, working there."""
    from jupyter_client.manager import AsyncKernelManager

    class Manager(AsyncKernelManager):
        """Closes the clients it hands out: nbclient leaves open (heartbeat thread, sockets)
        the client of a kernel it did not start."""

        def client(self, **kwargs):
            client = super().client(**kwargs)
            self.__dict__.setdefault("_handed_out", []).append(client)
            return client

        def close_clients(self) -> None:
            for client in self.__dict__.pop("_handed_out", []):
                client.stop_channels()

    with _kernel_env():
        manager = Manager(kernel_name=KERNEL, config=_kernel_config())
        run_sync(manager.start_kernel)(cwd=str(_private_dir()))
    return manager


def _split(executed, templates: list[Template], cwd: Path) -> dict:
    """The combined notebook cut back into one notebook per template (written to ``cwd``)."""
    import copy

    import nbformat

    first = templates[0].name
    parts = {}
    for template in templates:
        nb = copy.copy(executed)
        nb.cells = [c for c in executed.cells if c.get("metadata", {}).get(PART, first) == template.name]
        if nb.cells or template.name == first:
            nbformat.write(nb, str(cwd / f"{template.name}.ipynb"))
            parts[template.name] = nb
    return parts


def _failing_cell(executed, cell_index: int, first: str) -> tuple[str, int | None]:
    """The template of a failing cell and its execution count as if that template ran alone
    (its own code cells before it, plus papermill's injected parameters cell)."""
    if executed is None or not 0 <= cell_index < len(executed.cells):
        return first, None
    name = executed.cells[cell_index].get("metadata", {}).get(PART, first)
    own = [c for c in executed.cells[:cell_index + 1]
           if c.get("cell_type") == "code" and c.get("metadata", {}).get(PART, first) == name
           and "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    return name, len(own) + 1


_PRIVATE: list[Path] = []


def _private_dir() -> Path:
    """A per-process directory (mode 700) for kernel sockets and connection files; those of
    processes killed before their ``atexit`` ran are removed first."""
    if not _PRIVATE:
        from evalkit.engine import sweep_stale

        sweep_stale(tempfile.gettempdir(), "evalkit-kernels-")
        path = Path(tempfile.mkdtemp(prefix=f"evalkit-kernels-{os.getpid()}-"))
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
