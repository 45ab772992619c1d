"""Indicator families. Using ``REGISTRY`` (or any name below) imports and registers every
indicator function; importing a submodule alone (``evalkit.indicators.parameters``, which
the command line needs for its options) does not import the families."""
from importlib import import_module

_LAZY = {
    "REGISTRY": "base", "Context": "base", "indicator": "base",
    "Inequality": "kinds", "Mean": "kinds", "Quantile": "kinds", "Rate": "kinds", "RegionRate": "kinds",
    "Share": "kinds", "Total": "kinds",
}
_FAMILIES = ("access", "coordination", "fairness", "outcomes")

__all__ = ["REGISTRY", "Context", "Inequality", "Mean", "Quantile", "Rate", "RegionRate", "Share", "Total", "indicator"]


def __getattr__(name: str):
    if name in _LAZY:
        for family in _FAMILIES:  # registers the families
            import_module(f"{__name__}.{family}")
        value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
