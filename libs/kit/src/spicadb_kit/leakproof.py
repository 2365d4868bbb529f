"""The pgSphere functions a cone search calls, marked LEAKPROOF so that a cone on a published view uses the
GiST index.

Published views holding data with rights are ``security_barrier`` views (spicadb_kit.published): a
reader's condition must not run on a row the view hides, or ``1/(s_ra - 10.5)`` or a failing cast would
tell, by an error, that a hidden row holds that value. PostgreSQL therefore keeps a reader's condition
above the barrier unless every function it applies to a column is LEAKPROOF; a cone such as
``spoint(radians(s_ra), radians(s_dec)) @ scircle(...)`` (the ADQL translation of CONTAINS) then filters
the view's every row after the rights condition, a sequential scan (measured on 200,000 granules,
ivoa.obscore: 3.0 s, JIT included, against 0.5 ms with the index scan once the functions below are
LEAKPROOF).

A function is marked here only when it cannot raise an error, or otherwise act, depending on its
arguments' values (pgSphere 1.2 sources read; only ``palloc`` can fail, whatever the values):

- ``spoint(lng, lat)`` (spherepoint_from_long_lat): normalises the angles with arithmetic, no check;
- ``spoint @ scircle``, ``scircle ~ spoint`` (spoint_contained_by_circle[_com]): a distance (Vincenty's
  formula, atan2) compared with the radius;
- ``scircle && scircle`` (scircle_overlap, ADQL INTERSECTS of circles): the same distance, compared;
- ``spoint @ sbox``, ``sbox ~ spoint`` (sbox_cont_point[_com], CONTAINS with a BOX): comparisons;
- ``spoint <-> spoint`` (dist, ADQL DISTANCE): the same distance, 0 below 1e-9. No index serves
  ``DISTANCE(...) < r``, but below the barrier it filters before the view computes its other columns
  (200,000 granules: 4.0 s -> 0.16 s); written as CONTAINS (``@ scircle``) it uses the index.

Left out on purpose: the constructors that check their arguments (``scircle(point, radius)`` raises on a
radius over 90 degrees, ``spoly`` on a bad polygon: a reader's constants, never a column, so they need
no mark), the polygon operators (spoly_contains_point raises after 10,000 random rotations and reseeds
the C library's ``rand``), the box-circle and ellipse ones (they build lines that may be refused), and
``degrees`` (float8 overflow above 1e306). Such conditions still work, above the barrier.

``radians`` is the one exception, knowingly: ``radians(x)`` raises "value out of range: underflow" when
``x`` is a nonzero subnormal below 2.9e-322 in magnitude (PostgreSQL's float8_mul checks), and the cone
needs it. What a reader could learn through it is only whether a hidden row holds such a value in a
column it names: no coordinate, time or wavelength does, and no LEAKPROOF function returns a float8 a
reader could steer into that range (pgSphere's distance gives 0 below 1e-9; the built-in LEAKPROOF
float8 functions are casts).

ALTER FUNCTION ... LEAKPROOF needs a superuser. The migration runner runs :func:`mark` for every service
that publishes, idempotently (a function already marked is left alone): after a restore that recreated the
extension, the next migration marks them again. Without a superuser it logs a warning and leaves them:
the views stay correct and safe, cones on them scan sequentially.
"""

from __future__ import annotations

import asyncpg

from .logs import get_logger

__all__ = ["FUNCTIONS", "mark"]

log = get_logger(__name__)

# regprocedure signatures (the extension lives in public: the migration runner creates it there)
FUNCTIONS = (
    "pg_catalog.radians(double precision)",
    "public.spoint(double precision, double precision)",
    "public.spoint_contained_by_circle(public.spoint, public.scircle)",
    "public.spoint_contained_by_circle_com(public.scircle, public.spoint)",
    "public.scircle_overlap(public.scircle, public.scircle)",
    "public.sbox_cont_point(public.sbox, public.spoint)",
    "public.sbox_cont_point_com(public.spoint, public.sbox)",
    "public.dist(public.spoint, public.spoint)",
)

_FIND = """
SELECT p.oid::regprocedure::text AS name, p.proleakproof AS leakproof
FROM pg_proc p WHERE p.oid = to_regprocedure($1)
"""


async def mark(conn: asyncpg.Connection) -> list[str]:
    """Mark :data:`FUNCTIONS` LEAKPROOF (as a superuser; those not installed are skipped); the ones marked
    now. Without a superuser: a warning, nothing marked."""
    if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
        log.warning(
            "not a superuser: pgSphere's cone functions not marked LEAKPROOF, cones on published views"
            " will not use their indexes",
            functions=list(FUNCTIONS),
        )
        return []
    marked = []
    for signature in FUNCTIONS:
        try:
            found = await conn.fetchrow(_FIND, signature)
        except asyncpg.UndefinedObjectError:  # pgSphere's types are not installed in this database
            continue
        if found is None or found["leakproof"]:
            continue
        await conn.execute(f"ALTER FUNCTION {signature} LEAKPROOF")
        marked.append(found["name"])
    if marked:
        log.info("functions marked LEAKPROOF for published views", functions=marked)
    return marked
