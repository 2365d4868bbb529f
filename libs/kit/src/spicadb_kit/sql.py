"""A WHERE clause built with numbered placeholders, for the listings whose filters are optional: each
condition is written with ``{}`` where its values go, so SQL stays readable and values never enter it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Where"]


class Where:
    """A WHERE clause built condition by condition, each value passed as a numbered placeholder ($1,
    $2...) so no value is ever spliced into the SQL."""

    def __init__(self, *args: Any, conditions: Sequence[str] = ()) -> None:
        """``args`` are the first placeholders ($1, $2...) that ``conditions`` already use."""
        self.args: list[Any] = list(args)
        self.where: list[str] = list(conditions)

    def arg(self, value: Any, cast: str = "") -> str:
        """The placeholder of one more value."""
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def add(self, condition: str, *values: Any) -> None:
        """``condition`` with ``{}`` for each value's placeholder."""
        self.where.append(condition.format(*(self.arg(v) for v in values)))

    def when(self, condition: str, value: Any) -> None:
        """``condition`` with ``{}`` for ``value``'s placeholder, unless ``value`` is None (an optional
        filter left out)."""
        if value is not None:
            self.add(condition, value)

    def after(
        self, columns: Sequence[str], values: Sequence[Any] | None, *, descending: bool = False
    ) -> None:
        """Keyset pagination: the rows after ``values`` (a cursor's, in ORDER BY order) in the order
        of ``columns``, all ascending or all ``descending``; nothing without ``values`` (the first
        page). A row comparison, so the index on those columns answers it."""
        if values is None:
            return
        if len(values) != len(columns):
            raise ValueError(f"{len(columns)} keyset columns and {len(values)} values")
        placeholders = ", ".join(self.arg(v) for v in values)
        self.where.append(f"({', '.join(columns)}) {'<' if descending else '>'} ({placeholders})")

    def cone(self, ra: str, dec: str, centre_ra: float, centre_dec: float, radius_deg: float) -> None:
        """Rows whose (``ra``, ``dec``) columns (degrees) lie within ``radius_deg`` of the centre, as a
        pgSphere containment that a GiST index on ``spoint(radians(ra), radians(dec))`` answers (the
        NOT NULL conditions imply the partial indexes' predicates)."""
        centre = (
            f"spoint(radians({self.arg(centre_ra, '::float8')}), radians({self.arg(centre_dec, '::float8')}))"
        )
        radius = f"radians({self.arg(radius_deg, '::float8')})"
        self.where += [
            f"{ra} IS NOT NULL AND {dec} IS NOT NULL",
            f"spoint(radians({ra}), radians({dec})) <@ scircle({centre}, {radius})",
        ]

    def clause(self) -> str:
        """The conditions joined with AND (``true`` without any)."""
        return " AND ".join(self.where) or "true"
