"""What the programmes service publishes to the TAP service: ``spicadb.targets``, the targets of public
programmes and of the reader's own (migration 0004), with the UCDs and units Aspro2 reads (vo-interop.md
§10) so that a TAP answer imports as a target list."""

from __future__ import annotations

from spicadb_kit.published import PublishedColumn, PublishedTable, VOTableType


def _column(
    name: str,
    datatype: VOTableType,
    description: str,
    *,
    unit: str | None = None,
    ucd: str | None = None,
    xtype: str | None = None,
    principal: bool = False,
    indexed: bool = False,
) -> PublishedColumn:
    return PublishedColumn(
        name=name,
        datatype=datatype,
        description=description,
        unit=unit,
        ucd=ucd,
        arraysize="*" if datatype == "char" else None,
        xtype=xtype,
        principal=principal,
        indexed=indexed,
    )


_BANDS = {"v": "em.opt.V", "r": "em.opt.R", "i": "em.opt.I", "j": "em.IR.J", "h": "em.IR.H", "k": "em.IR.K"}

TARGETS = PublishedTable(
    schema="spicadb",
    name="targets",
    description="Targets of SPICA's programmes: those of public programmes, and of the programmes the "
    "caller is a member of. Positions in ICRS degrees at epoch, proper motions in mas/yr.",
    columns=(
        _column("programme", "char", "Programme code", ucd="meta.id;obs.proposal", principal=True, indexed=True),
        _column("programme_title", "char", "Programme title", ucd="meta.title"),
        _column("target_id", "char", "Target identifier in SPICA-DB", ucd="meta.id"),
        _column("name", "char", "Target name", ucd="meta.id;meta.main", principal=True),
        _column("ra", "double", "Right ascension (ICRS, at epoch)", unit="deg", ucd="pos.eq.ra;meta.main",
                principal=True, indexed=True),
        _column("dec", "double", "Declination (ICRS, at epoch)", unit="deg", ucd="pos.eq.dec;meta.main",
                principal=True, indexed=True),
        _column("epoch", "double", "Epoch of the position (Julian year)", unit="yr", ucd="time.epoch"),
        _column("pmra", "double", "Proper motion in right ascension (mu_alpha cos dec)", unit="mas/yr",
                ucd="pos.pm;pos.eq.ra"),
        _column("pmdec", "double", "Proper motion in declination", unit="mas/yr", ucd="pos.pm;pos.eq.dec"),
        _column("parallax", "double", "Parallax", unit="mas", ucd="pos.parallax.trig"),
        _column("radial_velocity", "double", "Radial velocity", unit="km/s", ucd="spect.dopplerVeloc.opt"),
        *(
            _column(f"mag_{band}", "double", f"{band.upper()} magnitude", unit="mag", ucd=f"phot.mag;{ucd}",
                    principal=band in "vk")
            for band, ucd in _BANDS.items()
        ),
        _column("spectral_type", "char", "Spectral type", ucd="src.spType", principal=True),
        _column("object_type", "char", "Object type", ucd="src.class"),
        _column("hd", "char", "HD number", ucd="meta.id"),
        _column("hip", "char", "Hipparcos number", ucd="meta.id"),
        _column("tmass", "char", "2MASS identifier", ucd="meta.id"),
        _column("gaia", "char", "Gaia identifier", ucd="meta.id"),
        _column("teff", "double", "Effective temperature", unit="K", ucd="phys.temperature.effective"),
        _column("work_package", "char", "Work package code within the programme", ucd="meta.id",
                principal=True),
        _column("priority", "int", "The PI's priority of the target (smaller first)", ucd="meta.code"),
        _column("science_case", "char", "Type of science case", ucd="meta.note"),
        _column("observations_requested", "int", "Number of observations requested", ucd="meta.number"),
        _column("progress", "char", "Observing progress over the target's requests: not-observed, partial, "
                "done (from the night logs)", ucd="meta.code.status", principal=True),
        _column("updated_at", "char", "Last change of the target", ucd="time.processing", xtype="timestamp"),
    ),
)  # fmt: skip

PUBLISHED = (TARGETS,)
