"""evalkit: evaluating the linkage of government assistance and charity support.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                       # doctest: +SKIP
>>> res = evalkit.compute(pkg, by=["hukou"])              # doctest: +SKIP
>>> res.overall("access.availability_rate").head()        # doctest: +SKIP

The names below are imported when first used (``evalkit.load`` imports the loader and
the engine, ``evalkit.compute`` the indicator families), so ``import evalkit`` and the
command line's ``--help`` start fast.
"""
from importlib import import_module

__version__ = "0.1.0"

#: public name -> module it lives in (imported on first use, PEP 562)
_LAZY = {
    "DataPackage": "evalkit.data.package",
    "load": "evalkit.data.package",
    "validate": "evalkit.data.package",
    "ValidationReport": "evalkit.data.validation",
    "EvalkitError": "evalkit.errors",
    "PackageError": "evalkit.errors",
    "ParameterError": "evalkit.errors",
    "ValidationError": "evalkit.errors",
    "load_catalogue": "evalkit.indicators.catalogue",
    "compute": "evalkit.indicators.compute",
    "ReferralNetwork": "evalkit.methods.network",
    "Design": "evalkit.methods.survey",
    "composite_indices": "evalkit.results.composite",
    "sensitivity": "evalkit.results.composite",
    "IndicatorResults": "evalkit.results.indicator_results",
    "before_after": "evalkit.results.reform",
}

__all__ = [
    "DataPackage", "Design", "EvalkitError", "IndicatorResults", "PackageError", "ParameterError", "ReferralNetwork",
    "ValidationError", "ValidationReport", "before_after", "composite_indices", "compute", "load", "load_catalogue", "sensitivity", "validate",
    "__version__",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # once imported, an ordinary attribute
        return value
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
