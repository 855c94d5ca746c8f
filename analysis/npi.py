"""The NPI check digit, defined once (claims validation, the PUF reader, the generator).

A National Provider Identifier is ten digits; the tenth is the Luhn check digit of the
first nine prefixed with ``80840`` (the health-industry prefix, which contributes a
constant 24 to the Luhn sum): double every second digit starting from the rightmost of
the nine, add the digits of the products and the undoubled digits plus 24; the check
digit takes the sum to the next multiple of ten.

References
----------
CMS, "Requirements for National Provider Identifier (NPI) and NPI Enumerator Check
Digit Algorithm" (the example NPI 1234567893).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["check_digit", "valid_npi", "valid_npi_int", "with_check_digit"]


def check_digit(stems) -> np.ndarray:
    """Check digit of nine-digit NPI stems held as integers.

    Examples
    --------
    >>> check_digit(np.array([123456789])).tolist()  # NPI 1234567893
    [3]
    """
    n = np.asarray(stems, dtype=np.int64)
    total = np.full(n.shape, 24, dtype=np.int64)
    for position in range(9):  # position 0 = rightmost digit of the stem: doubled
        digit = (n // 10**position) % 10
        if position % 2 == 0:
            digit = digit * 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def with_check_digit(stems) -> np.ndarray:
    """Ten-digit NPIs (integers) made from nine-digit stems and their check digit.

    >>> with_check_digit([123456789]).tolist()
    [1234567893]
    """
    n = np.asarray(stems, dtype=np.int64)
    return n * 10 + check_digit(n)


def valid_npi_int(npi) -> np.ndarray:
    """True where an NPI held as an integer ``0 <= npi < 10**10`` has a valid check digit.

    >>> valid_npi_int(np.array([1234567893, 1234567890])).tolist()
    [True, False]
    """
    x = np.asarray(npi, dtype=np.int64)
    in_range = (x >= 0) & (x < 10**10)
    return in_range & (check_digit(x // 10) == x % 10)


def valid_npi(npi) -> pd.Series:
    """True where a text NPI is ten digits with a valid check digit (missing: False).

    >>> valid_npi(pd.Series(["1234567893", "1234567890", "12345", None])).tolist()
    [True, False, False, False]
    """
    s = pd.Series(npi, copy=False).astype(pd.StringDtype())
    ten = s.str.fullmatch(r"[0-9]{10}").to_numpy(dtype=bool, na_value=False)
    out = np.zeros(len(s), dtype=bool)
    if ten.any():
        out[ten] = valid_npi_int(s[ten].astype("int64").to_numpy())
    return pd.Series(out, index=s.index)
