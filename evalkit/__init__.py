"""evalkit: evaluating the linkage of government assistance and charity support.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                       # doctest: +SKIP
>>> res = evalkit.compute(pkg, by=["hukou"])              # doctest: +SKIP
>>> res.overall("access.availability_rate").head()        # doctest: +SKIP
"""
from .catalogue import load_catalogue
from .composite import composite_indices, sensitivity
from .compute import compute
from .io import PackageError
from .network import ReferralNetwork
from .package import DataPackage, load, validate
from .reform import before_after
from .results import IndicatorResults
from .validation import ValidationError, ValidationReport

__version__ = "0.1.0"

__all__ = [
    "DataPackage", "IndicatorResults", "PackageError", "ReferralNetwork", "ValidationError", "ValidationReport",
    "before_after", "composite_indices", "compute", "load", "load_catalogue", "sensitivity", "validate",
    "__version__",
]
