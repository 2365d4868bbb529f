"""What the programmes service publishes to the TAP service: ``spicadb.targets``, the targets of public
programmes and of the reader's own (migration 0004), with the UCDs and units Aspro2 reads (vo-interop.md
§10) so that a TAP answer imports as a target list."""

from __future__ import annotations

from spicadb_kit.published import PublishedTable, column

_BANDS = {"v": "em.opt.V", "r": "em.opt.R", "i": "em.opt.I", "j": "em.IR.J", "h": "em.IR.H", "k": "em.IR.K"}

TARGETS = PublishedTable(
    schema="spicadb",
    name="targets",
    description="Targets of SPICA's programmes: those of public programmes, and of the programmes the "
    "caller is a member of. Positions in ICRS degrees at epoch, proper motions in mas/yr.",
    columns=(
        column("programme", "char", "Programme code", ucd="meta.id;obs.proposal", principal=True, indexed=True),
        column("programme_title", "char", "Programme title", ucd="meta.title"),
        column("target_id", "char", "Target identifier in SPICA-DB", ucd="meta.id"),
        column("name", "char", "Target name", ucd="meta.id;meta.main", principal=True),
        column("ra", "double", "Right ascension (ICRS, at epoch)", unit="deg", ucd="pos.eq.ra;meta.main",
                principal=True, indexed=True),
        column("dec", "double", "Declination (ICRS, at epoch)", unit="deg", ucd="pos.eq.dec;meta.main",
                principal=True, indexed=True),
        column("epoch", "double", "Epoch of the position (Julian year)", unit="yr", ucd="time.epoch"),
        column("pmra", "double", "Proper motion in right ascension (mu_alpha cos dec)", unit="mas/yr",
                ucd="pos.pm;pos.eq.ra"),
        column("pmdec", "double", "Proper motion in declination", unit="mas/yr", ucd="pos.pm;pos.eq.dec"),
        column("parallax", "double", "Parallax", unit="mas", ucd="pos.parallax.trig"),
        column("radial_velocity", "double", "Radial velocity", unit="km/s", ucd="spect.dopplerVeloc.opt"),
        *(
            column(f"mag_{band}", "double", f"{band.upper()} magnitude", unit="mag", ucd=f"phot.mag;{ucd}",
                    principal=band in "vk")
            for band, ucd in _BANDS.items()
        ),
        column("spectral_type", "char", "Spectral type", ucd="src.spType", principal=True),
        column("object_type", "char", "Object type", ucd="src.class"),
        column("hd", "char", "HD number", ucd="meta.id"),
        column("hip", "char", "Hipparcos number", ucd="meta.id"),
        column("tmass", "char", "2MASS identifier", ucd="meta.id"),
        column("gaia", "char", "Gaia identifier", ucd="meta.id"),
        column("teff", "double", "Effective temperature", unit="K", ucd="phys.temperature.effective"),
        column("work_package", "char", "Work package code within the programme", ucd="meta.id",
                principal=True),
        column("priority", "int", "The PI's priority of the target (smaller first)", ucd="meta.code"),
        column("science_case", "char", "Type of science case", ucd="meta.note"),
        column("observations_requested", "int", "Number of observations requested", ucd="meta.number"),
        column("progress", "char", "Observing progress over the target's requests: not-observed, partial, "
                "done (from the night logs)", ucd="meta.code.status", principal=True),
        column("updated_at", "char", "Last change of the target", ucd="time.processing", xtype="timestamp"),
    ),
)  # fmt: skip

PUBLISHED = (TARGETS,)
