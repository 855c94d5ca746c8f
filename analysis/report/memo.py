"""Results a report kernel computes once: :func:`once`.

``rad3d report`` runs many notebooks in one warm kernel per worker
(:mod:`analysis.run.execute`): forty scorecards screen, trend and price the same
practice summary with the same options, each for its own practice. :func:`once` keeps
the result of a pure function of the shared inputs for the next notebook of the kernel
that asks for it with equal arguments. Arguments are compared by content: a DataFrame by
its columns, dtypes, length, a hash of its values and index
(:func:`pandas.util.hash_pandas_object`) and its ``attrs``; other values by ``repr``
(frozen dataclasses such as :class:`analysis.impact.ImpactAssumptions` show every
field). Arguments that cannot be compared so are not cached: the function simply runs.

The results are shared objects: a notebook reads them and never changes them in place
(the package's functions return new objects). At most :data:`MAX_RESULTS` are kept, the
least recently used going first.

Examples
--------
>>> import pandas as pd
>>> calls = []
>>> def total(frame, *, column):
...     calls.append(column)
...     return frame[column].sum()
>>> f = pd.DataFrame({"n": [1, 2, 3]})
>>> once(total, f, column="n"), once(total, f.copy(), column="n"), calls
(np.int64(6), np.int64(6), ['n'])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

__all__ = ["MAX_RESULTS", "once"]

MAX_RESULTS = 32
"""Results kept per process."""

_T = TypeVar("_T")
_RESULTS: OrderedDict[tuple, Any] = OrderedDict()


class _Uncomparable(Exception):
    pass


def _token(value: Any) -> Any:
    """A hashable stand-in for ``value``, equal for equal contents."""
    if isinstance(value, pd.DataFrame):
        try:
            digest = int(pd.util.hash_pandas_object(value, index=True).sum())
        except TypeError as err:  # unhashable cells (lists, dicts)
            raise _Uncomparable from err
        return ("frame", tuple(map(str, value.columns)), tuple(map(str, value.dtypes)),
                len(value), digest, _token(dict(value.attrs)))
    if isinstance(value, pd.Series):
        return _token(value.to_frame())
    if isinstance(value, Mapping):
        return ("map", tuple((str(k), _token(v)) for k, v in sorted(value.items(),
                                                                     key=lambda kv: str(kv[0]))))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_token(v) for v in value))
    return ("value", type(value).__qualname__, repr(value))


def once(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)``, computed once per process for arguments of equal content.

    Parameters
    ----------
    fn : callable
        A pure function (its result depends on its arguments only).
    *args, **kwargs
        Its arguments.

    Returns
    -------
    Its result: the kept one when this process computed it before.
    """
    try:
        key = (fn.__module__, fn.__qualname__, _token(args), _token(kwargs))
    except _Uncomparable:
        return fn(*args, **kwargs)
    if key in _RESULTS:
        _RESULTS.move_to_end(key)
        return _RESULTS[key]
    result = fn(*args, **kwargs)
    _RESULTS[key] = result
    while len(_RESULTS) > MAX_RESULTS:
        _RESULTS.popitem(last=False)
    return result
