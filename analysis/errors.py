"""The one exception type for problems a user can cause (bad file, bad parameter).

Bugs raise ordinary Python exceptions; everything a user can fix raises
:class:`InputError`, whose message names the file, row, column and value and says
what to do. The CLI prints it on one line, without a traceback, and exits non-zero.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["InputError"]


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
