"""What a model file may contain: a fixed list of types, never the file's own list, never pickle.

A followback model folder is data. Its scikit-learn Pipeline and the bot model are skops files;
skops builds only the types it is told to trust, so the question is who tells it. MLflow's
sklearn flavour reads the list from the model's own ``MLmodel`` file, which a crafted folder
fills with whatever it needs (``builtins.open``, ``os.system``). Here the list is fixed by this
code: skops's own defaults (scikit-learn's estimators and loss internals, numpy's and scipy's
ufuncs and dtypes, builtin containers), the few scikit-learn helper types listed below, and
the scikit-learn transformers this package defines in :mod:`pipeline.features`.
Anything else in a file is refused with the list of foreign types, before anything is built.

When a new extractor needs a type that is not here, saving the model fails with the same
message (``followback train`` checks what it writes); add the type to :data:`EXTRA_TYPES` after
checking that constructing it runs no code of the file's choosing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache
from pathlib import Path

from pipeline.core.console import FollowbackError

# scikit-learn types that fitted followback models hold and skops does not trust by default:
# private helpers of the classifiers (measured on logreg, hgb and forest, each without and with
# sigmoid or isotonic calibration). Exact names, never prefixes: ``numpy.`` would also admit
# ``numpy.load`` and ``pipeline.`` this package's file writers.
EXTRA_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    # the prior a too-thin set of decisions trains instead of the personal model
    "pipeline.model.prior.PriorClassifier",
)


class ModelRefused(FollowbackError):
    """A model file holds something this project did not write."""


@cache
def own_types() -> tuple[str, ...]:
    """``module.Class`` of every scikit-learn estimator class defined in ``pipeline.features``.

    Found by importing this package's own modules (installed code, not the model's), so the
    list cannot be widened by a model file.
    """
    from sklearn.base import BaseEstimator

    import pipeline.features as features

    names = set()
    for info in pkgutil.iter_modules(features.__path__, prefix="pipeline.features."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseEstimator) and cls.__module__ == module.__name__:
                names.add(f"{cls.__module__}.{cls.__qualname__}")
    return tuple(sorted(names))


def trusted_types() -> list[str]:
    """The types trusted on top of skops's defaults: :data:`EXTRA_TYPES` and :func:`own_types`."""
    return sorted({*EXTRA_TYPES, *own_types()})


def foreign_types(path: Path | None = None, data: bytes | None = None) -> list[str]:
    """Types in a skops file (or its bytes) outside skops's defaults and :func:`trusted_types`.

    Reading the type names parses the file's JSON schema only; nothing is constructed.
    """
    import skops.io

    try:
        found = (skops.io.get_untrusted_types(file=path) if data is None
                 else skops.io.get_untrusted_types(data=data))
    except Exception as exc:  # not a zip, no schema, unknown node kind
        raise ModelRefused(f"{path or 'model data'} is not a skops file this project wrote: "
                           f"{exc}") from exc
    allowed = set(trusted_types())
    return [t for t in found if t not in allowed]


def check(path: Path) -> None:
    """Refuse ``path`` unless every type in it is trusted."""
    foreign = foreign_types(Path(path))
    if foreign:
        raise ModelRefused(
            f"refusing to load {path}: it holds types that followback models never contain, "
            f"{', '.join(foreign)}. Load only models written by `followback train`.")


def load(path: Path):
    """Load a skops file, trusting only the fixed list (after :func:`check`)."""
    import skops.io

    path = Path(path)
    check(path)
    return skops.io.load(path, trusted=trusted_types())


def dump(obj, path: Path) -> None:
    """Write ``obj`` with skops; refuse to write what :func:`load` would refuse to read."""
    import skops.io

    data = skops.io.dumps(obj)
    foreign = foreign_types(data=data)
    if foreign:
        raise TypeError(
            f"the model holds types outside the trusted list, {', '.join(foreign)}; a model "
            "must hold scikit-learn, numpy and pipeline.features types only (see "
            "pipeline/model/trust.py, EXTRA_TYPES)")
    Path(path).write_bytes(data)
