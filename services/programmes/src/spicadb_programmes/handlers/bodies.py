"""The OpenAPI request bodies of the routes that read their body themselves (no ``data`` parameter tells
litestar what they take), declared through the kit's ``takes``."""

from __future__ import annotations

from litestar.openapi.spec import OpenAPIType, Reference, Schema

from spicadb_kit.openapi import binary, takes, text

_TARGET = Reference(ref="#/components/schemas/TargetIn")
_VOTABLE = text(
    "A VOTable (1.1 to 1.5) of one TABLE, TABLEDATA, BINARY, BINARY2 or FITS inline (base64);"
    " the name, RA and DEC columns found by UCD (meta.id;meta.main, pos.eq.ra, pos.eq.dec) or by"
    " name, as Aspro2 and the SPICA science database write them"
)
_CSV = text(
    "UTF-8 CSV: a header row (name, ra, dec and any other columns: the target fields, aliases such"
    " as RAJ2000 or main_id, Gmag/e_Gmag, JSDC2_LDD..., the rest kept as properties), one target a line"
)
_JSON = Schema(
    one_of=[
        Schema(type=OpenAPIType.ARRAY, items=_TARGET),
        Schema(
            type=OpenAPIType.OBJECT,
            required=["targets"],
            properties={"targets": Schema(type=OpenAPIType.ARRAY, items=_TARGET)},
            description="an export of format=json (id, created_at, updated_at and progress are ignored)",
        ),
    ]
)
_FITS = binary("a FITS file whose first binary table extension is the list (TTYPE names, TUNIT units)")

# ``POST /programmes/{code}/targets/import``: a target list in one of four formats
IMPORT_BODY = takes(
    {
        "application/x-votable+xml": _VOTABLE,
        "text/xml": _VOTABLE,
        "text/csv": _CSV,
        "application/json": _JSON,
        "application/fits": _FITS,
    },
    "the whole target list (all or nothing)",
)
