"""Evaluation reports: parameterised notebooks rendered to self-contained HTML (and PDF).

>>> from evalkit.report import render_report, render_all                 # doctest: +SKIP
>>> render_report("data/demo", region="R00", out="reports/demo")         # doctest: +SKIP
>>> render_all("data/demo", out="reports/all", workers=4)                # doctest: +SKIP

Modules: ``batch`` (options, indicators computed once, one region or every region in
parallel processes, resume), ``execute`` (templates and papermill), ``publish`` (a
region's parts, PDFs and manifest moved into place), ``index`` (index pages),
``parameters`` (every report parameter checked in one place), ``html`` (the page from
the notebooks' outputs, PDF with WeasyPrint, screenshots with Chromium), ``scorecard``
(targets, status, gaps, trend, improvement plan; pure pandas), ``charts`` (CJK fonts,
matplotlib charts), ``present`` (display tables), ``data`` (the results file notebooks
read), ``notebook`` (what the templates in ``notebooks/`` call).
"""
from __future__ import annotations


def render_report(*args, **kwargs):
    """One region's report; see :func:`evalkit.report.batch.render_report`."""
    from .batch import render_report as run

    return run(*args, **kwargs)


def render_all(*args, **kwargs):
    """Every region's report; see :func:`evalkit.report.batch.render_all`."""
    from .batch import render_all as run

    return run(*args, **kwargs)


__all__ = ["render_all", "render_report"]
