"""CSV for spreadsheet programs, written by every export: UTF-8 with a BOM (so Chinese reads
correctly), CRLF rows, and no cell a spreadsheet would run as a formula.

A text cell starting with `=`, `+`, `-`, `@`, tab, CR or LF is prefixed with a single quote
(OWASP's advice): the spreadsheet shows the text, the quote included, and evaluates nothing.
Numbers (int and Decimal values) are written as they are, negative ones too: a number is never
a formula, and the amount columns stay numeric. Text that looks like a number (a name "-5") is
text, so it is neutralised like any other.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

Cell = str | int | Decimal | None


def cell(value: Cell) -> str | int | Decimal:
    """The value as written to a CSV cell: numbers unchanged, risky text quoted, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):  # a flag is text, not a number
        return str(value).lower()
    if isinstance(value, int | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_document(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8")
