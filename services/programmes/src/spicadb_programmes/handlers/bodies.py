"""The OpenAPI request bodies of the routes that read their body themselves (no ``data`` parameter tells
litestar what they take)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

_TARGET = Reference(ref="#/components/schemas/TargetIn")
_VOTABLE = OpenAPIMediaType(
    schema=Schema(
        type=OpenAPIType.STRING,
        description=(
            "A VOTable (1.1 to 1.5) of one TABLE, TABLEDATA, BINARY, BINARY2 or FITS inline (base64);"
            " the name, RA and DEC columns found by UCD (meta.id;meta.main, pos.eq.ra, pos.eq.dec) or by"
            " name, as Aspro2 and the SPICA science database write them"
        ),
    )
)
_CSV = OpenAPIMediaType(
    schema=Schema(
        type=OpenAPIType.STRING,
        description=(
            "UTF-8 CSV: a header row (name, ra, dec and any other columns: the target fields, aliases such"
            " as RAJ2000 or main_id, Gmag/e_Gmag, JSDC2_LDD..., the rest kept as properties), one target a line"
        ),
    )
)
_JSON = OpenAPIMediaType(
    schema=Schema(
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
)
_FITS = OpenAPIMediaType(
    schema=Schema(
        type=OpenAPIType.STRING,
        format=OpenAPIFormat.BINARY,
        description="a FITS file whose first binary table extension is the list (TTYPE names, TUNIT units)",
    )
)


@dataclass
class ImportOperation(Operation):
    """``POST /programmes/{code}/targets/import``: a target list in one of four formats."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "application/x-votable+xml": _VOTABLE,
                "text/xml": _VOTABLE,
                "text/csv": _CSV,
                "application/json": _JSON,
                "application/fits": _FITS,
            },
            description="the whole target list (all or nothing)",
            required=True,
        )
