"""One error hierarchy: every error evalkit raises on purpose derives from :class:`EvalkitError`.

The command line maps them to its exit codes (1 invalid data package, 2 usage error or
unreadable input) and prints their message, never a traceback.
"""
from __future__ import annotations


class EvalkitError(Exception):
    """Root of evalkit's errors."""


class PackageError(EvalkitError):
    """A data package cannot be read at all (missing directory, unreadable file)."""


class ValidationError(EvalkitError):
    """A package was read but has errors; ``report`` holds every problem found."""

    def __init__(self, report):
        self.report = report
        super().__init__(str(report))


class ParameterError(EvalkitError, ValueError):
    """A parameter given to a function, command or report is not allowed (name, value, range)."""


class OutputError(EvalkitError):
    """An output location cannot be written (missing or read-only directory, a file in the way);
    checked before computing (:func:`evalkit.data.io.check_writable`)."""


class ResourceError(EvalkitError):
    """The machine ran out of something evalkit needs: memory (raise ``EVALKIT_MEMORY_LIMIT``)
    or disk space (outputs, or the scratch directory under ``TMPDIR``). Nothing half-written is left."""


class ReportError(EvalkitError, ValueError):
    """A report cannot be started: missing templates, no Chromium for --pdf, no period to report."""


class NotebookFailed(EvalkitError):
    """A report notebook failed: which template, which cell (None when not in a cell) and the error."""

    def __init__(self, notebook: str, cell: int | None, error: str):
        super().__init__(notebook, cell, error)  # args rebuild it when pickled between processes
        self.notebook, self.cell, self.error = notebook, cell, error

    def __str__(self) -> str:
        where = f"{self.notebook}.py" + (f" cell [{self.cell}]" if self.cell is not None else "")
        return f"{where}: {self.error}"


class CalendarError(EvalkitError):
    """Working days were counted in years no calendar covers (neither chinese_calendar nor the
    package's ``calendar`` table); ``years`` lists them and the message says how to add a calendar."""

    def __init__(self, message: str, years=()):
        super().__init__(message, list(years))  # args rebuild it when pickled between processes
        self.message, self.years = message, list(years)

    def __str__(self) -> str:
        return self.message
