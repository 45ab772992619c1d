"""evalkit: evaluating the linkage of government assistance and charity support.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                       # doctest: +SKIP
>>> res = evalkit.compute(pkg, by=["hukou"])              # doctest: +SKIP
>>> res.overall("access.availability_rate").head()        # doctest: +SKIP
"""
from .catalogue import load_catalogue
from .compute import compute
from .io import PackageError
from .package import DataPackage, load, validate
from .results import IndicatorResults
from .validation import ValidationError, ValidationReport

__version__ = "0.1.0"

__all__ = [
    "DataPackage", "IndicatorResults", "PackageError", "ValidationError", "ValidationReport",
    "compute", "load", "load_catalogue", "validate", "__version__",
]
