"""losses: loss functions written once against the Python array API standard.

The same call gives the same values and gradients on NumPy, array-api-strict, CuPy,
PyTorch and JAX arrays; ``losses.catalog`` lists every loss with its family and example
inputs. Importing this package imports no array framework.
"""

from . import catalog, classification, margin, regression, segmentation
from ._api import set_value_checks
from .classification import *  # noqa: F403
from .margin import *  # noqa: F403
from .regression import *  # noqa: F403
from .segmentation import *  # noqa: F403

__version__ = "0.1.0"

__all__ = [
    "catalog",
    "set_value_checks",
    *regression.__all__,
    *margin.__all__,
    *classification.__all__,
    *segmentation.__all__,
]
