"""Evaluation reports: parameterised notebooks rendered to self-contained HTML (and PDF).

>>> from evalkit.report import render_report, render_all                 # doctest: +SKIP
>>> render_report("data/demo", region="R00", out="reports/demo")         # doctest: +SKIP
>>> render_all("data/demo", out="reports/all", workers=4)                # doctest: +SKIP

Modules: ``runner`` (papermill, parallel regions, manifests, resume), ``html`` (nbconvert
export, PDF and screenshots with Chromium), ``scorecard`` (targets, status, gaps, trend,
improvement plan; pure pandas), ``charts`` (CJK fonts, matplotlib charts), ``present``
(display tables), ``data`` (the results file notebooks read), ``notebook`` (what the
templates in ``notebooks/`` call).
"""
from __future__ import annotations


def render_report(*args, **kwargs):
    """One region's report; see :func:`evalkit.report.runner.render_report`."""
    from .runner import render_report as run

    return run(*args, **kwargs)


def render_all(*args, **kwargs):
    """Every region's report; see :func:`evalkit.report.runner.render_all`."""
    from .runner import render_all as run

    return run(*args, **kwargs)


__all__ = ["render_all", "render_report"]
