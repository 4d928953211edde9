"""Errors raised on bad input.

Every error that can be caused by a user's file or setting is a :class:`FairpatrolError`; its message is a
single line naming the source (file or config), the field and, where known, the row, so that the CLI can
print it as is and exit non-zero.
"""

from __future__ import annotations


class FairpatrolError(Exception):
    """Base class of every error caused by bad input or settings."""


class DataError(FairpatrolError, ValueError):
    """Bad input data: names the source (file), the field (column or config key) and the row when known.

    ``str(err)`` is one line such as
    ``crimes.csv: field 'Latitude', row 17: NaN coordinate``.
    Rows are 1-based data rows (the header is not counted), as a spreadsheet user would count them.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        field: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.field = field
        self.row = row
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        loc = []
        if self.field is not None:
            loc.append(f"field '{self.field}'")
        if self.row is not None:
            loc.append(f"row {self.row}")
        if loc:
            where.append(", ".join(loc))
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(DataError):
    """A bad scenario or sweep setting (unknown key, wrong type, impossible value)."""


class FairpatrolWarning(UserWarning):
    """Something the user should know that does not stop the command (shown as ``warning: …`` lines)."""


class NotFittedError(ValueError, AttributeError):
    """A fitted estimator's method (``predict``, ``decompose``) called before ``fit``.

    Both a ``ValueError`` and an ``AttributeError``, as scikit-learn's ``sklearn.exceptions.NotFittedError``,
    so code written for either catches it. Not a :class:`FairpatrolError`: it is a mistake in the calling
    code, not in a user's file.
    """


class ConvergenceWarning(FairpatrolWarning):
    """An iterative fit (EM or Newton steps) stopped at ``max_iter`` before meeting its tolerance ``tol``.

    The fit's ``converged_`` is then False; the model is usable but not at its maximum likelihood. Raise
    ``max_iter`` (or loosen ``tol``). Named after scikit-learn's ``sklearn.exceptions.ConvergenceWarning``.
    """
