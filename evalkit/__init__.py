"""evalkit: evaluating the linkage of government assistance and charity support.

>>> import evalkit
>>> pkg = evalkit.load("data/demo")                       # doctest: +SKIP
>>> res = evalkit.compute(pkg, by=["hukou"])              # doctest: +SKIP
>>> res.overall("access.availability_rate").head()        # doctest: +SKIP
"""
from evalkit.data.package import DataPackage, load, validate
from evalkit.data.validation import ValidationReport
from evalkit.errors import EvalkitError, PackageError, ParameterError, ValidationError
from evalkit.indicators.catalogue import load_catalogue
from evalkit.indicators.compute import compute
from evalkit.methods.network import ReferralNetwork
from evalkit.methods.survey import Design
from evalkit.results.composite import composite_indices, sensitivity
from evalkit.results.indicator_results import IndicatorResults
from evalkit.results.reform import before_after

__version__ = "0.1.0"

__all__ = [
    "DataPackage", "Design", "EvalkitError", "IndicatorResults", "PackageError", "ParameterError", "ReferralNetwork",
    "ValidationError", "ValidationReport", "before_after", "composite_indices", "compute", "load", "load_catalogue", "sensitivity", "validate",
    "__version__",
]
