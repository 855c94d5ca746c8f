"""The one exception type for problems a user can cause (bad file, bad parameter).

Bugs raise ordinary Python exceptions; everything a user can fix raises
:class:`InputError`, whose message names the file, row, column and value and says
what to do. The CLI prints it on one line, without a traceback, and exits non-zero.
"""

from __future__ import annotations

from os import PathLike

import numpy as np

__all__ = ["InputError", "first_bad_row"]


class InputError(ValueError):
    """A user-fixable problem with an input file or parameter.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    file, row, column, value : optional
        Where the problem is. ``row`` is the 1-based line number in the file as a
        text editor shows it, when known.

    Examples
    --------
    >>> err = InputError(
    ...     "not a CPT code", file="claims.csv", row=12, column="cpt_code", value="7637"
    ... )
    >>> str(err)
    "claims.csv, row 12, column 'cpt_code', value '7637': not a CPT code"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {str(self.value)!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def first_bad_row(mask) -> int:
    """0-based position of the first true value of a boolean mask (array or Series).

    Missing values of a nullable boolean Series count as false. The caller turns the
    position into the file row, column and value of its :class:`InputError`.

    >>> first_bad_row([False, False, True, True])
    2
    """
    if hasattr(mask, "to_numpy"):
        mask = mask.to_numpy(dtype=bool, na_value=False)
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    if not len(hits):
        raise ValueError("first_bad_row: no row is marked bad")
    return int(hits[0])
