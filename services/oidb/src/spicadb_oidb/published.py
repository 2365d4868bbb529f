"""What the oidb service publishes to the TAP service: ``ivoa.ObsCore`` (ObsCore 1.1 with OiDB's extension
columns, one row per current granule) and ``spicadb.links`` (L0 observations <-> L2 granules), the views of
migration 0003. Units, UCDs and utypes of the ObsCore columns as the standard (and taplint) has them."""

from __future__ import annotations

from typing import Any

from spicadb_kit.context import ServiceContext
from spicadb_kit.published import PublishedColumn, PublishedTable, VOTableType, column

from .config import OidbSettings

OBSCORE_UTYPE = "ivo://ivoa.net/std/ObsCore#core-1.1"


def _column(
    name: str,
    datatype: VOTableType,
    description: str,
    *,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    xtype: str | None = None,
    principal: bool = False,
    indexed: bool = False,
) -> PublishedColumn:
    """ObsCore's columns carry an ``obscore:`` utype and are standard; OiDB's and SPICA-DB's have none."""
    return column(
        name, datatype, description, unit=unit, ucd=ucd, utype=f"obscore:{utype}" if utype else None,
        xtype=xtype, principal=principal, indexed=indexed, std=utype is not None,
    )  # fmt: skip


# ObsCore 1.1's mandatory columns, in the standard's order (vo-interop.md §2)
MANDATORY = (
    _column("dataproduct_type", "char", "Data product type: visibility (interferometric data, OIFITS)",
            ucd="meta.code.class", utype="ObsDataset.dataProductType", principal=True),
    _column("calib_level", "int", "Calibration level: 0 raw, 1 instrumental, 2 calibrated, 3 science ready",
            ucd="meta.code;obs.calib", utype="ObsDataset.calibLevel", principal=True),
    _column("obs_collection", "char", "Name of the data collection (SPICA)",
            ucd="meta.id", utype="DataID.Collection", principal=True),
    _column("obs_id", "char", "Observation identifier (the DRS's, or the file's id when it gives none)",
            ucd="meta.id", utype="DataID.observationID", principal=True),
    _column("obs_publisher_did", "char",
            "IVOA dataset identifier of the granule; its DataLink answers it (/oidb/links?ID=...)",
            ucd="meta.ref.ivoid", utype="Curation.PublisherDID", principal=True, indexed=True),
    _column("access_url", "char", "URL of the OIFITS file (data rights applied there)",
            ucd="meta.ref.url", utype="Access.Reference", principal=True),
    _column("access_format", "char", "Content type of the file (application/fits)",
            ucd="meta.code.mime", utype="Access.Format"),
    _column("access_estsize", "long", "Estimated size of the file (kB)",
            unit="kbyte", ucd="phys.size;meta.file", utype="Access.Size"),
    _column("target_name", "char", "Target name as the OIFITS file gives it",
            ucd="meta.id;src", utype="Target.Name", principal=True),
    _column("s_ra", "double", "Right ascension of the target (ICRS)", unit="deg", ucd="pos.eq.ra",
            utype="Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1", principal=True,
            indexed=True),
    _column("s_dec", "double", "Declination of the target (ICRS)", unit="deg", ucd="pos.eq.dec",
            utype="Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2", principal=True,
            indexed=True),
    _column("s_fov", "double",
            "Diameter of the field of view: the beam of one 1 m CHARA telescope (lambda/D at em_max)",
            unit="deg", ucd="phys.angSize;instr.fov", utype="Char.SpatialAxis.Coverage.Bounds.Extent.diameter"),
    _column("s_region", "char", "Region covered: a circle of diameter s_fov around (s_ra, s_dec)",
            ucd="pos.outline;obs.field", utype="Char.SpatialAxis.Coverage.Support.Area", xtype="adql:REGION",
            indexed=True),
    _column("s_resolution", "double", "Angular resolution (not known per granule)", unit="arcsec",
            ucd="pos.angResolution", utype="Char.SpatialAxis.Resolution.Refval.value"),
    _column("s_xel1", "long", "Number of elements along the first spatial axis (none: not an image)",
            ucd="meta.number", utype="Char.SpatialAxis.numBins1"),
    _column("s_xel2", "long", "Number of elements along the second spatial axis (none: not an image)",
            ucd="meta.number", utype="Char.SpatialAxis.numBins2"),
    _column("t_min", "double", "Start of the observation (MJD)", unit="d", ucd="time.start;obs.exposure",
            utype="Char.TimeAxis.Coverage.Bounds.Limits.StartTime", principal=True),
    _column("t_max", "double", "End of the observation (MJD)", unit="d", ucd="time.end;obs.exposure",
            utype="Char.TimeAxis.Coverage.Bounds.Limits.StopTime", principal=True),
    _column("t_exptime", "double", "Total exposure time of the granule (OiDB's shortest INT_TIME: t_exptime_min)",
            unit="s", ucd="time.duration;obs.exposure", utype="Char.TimeAxis.Coverage.Support.Extent"),
    _column("t_resolution", "double", "Temporal resolution (not known per granule)", unit="s",
            ucd="time.resolution", utype="Char.TimeAxis.Resolution.Refval.value"),
    _column("t_xel", "long", "Number of elements along the time axis (not given)",
            ucd="meta.number", utype="Char.TimeAxis.numBins"),
    _column("em_min", "double", "Shortest wavelength", unit="m", ucd="em.wl;stat.min",
            utype="Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit", principal=True),
    _column("em_max", "double", "Longest wavelength", unit="m", ucd="em.wl;stat.max",
            utype="Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit", principal=True),
    _column("em_res_power", "double", "Spectral resolving power (lambda / delta lambda)",
            ucd="spect.resolution", utype="Char.SpectralAxis.Resolution.ResolPower.refVal"),
    _column("em_xel", "long", "Number of spectral channels", ucd="meta.number",
            utype="Char.SpectralAxis.numBins"),
    _column("o_ucd", "char", "UCD of the observable (not given)", ucd="meta.ucd",
            utype="Char.ObservableAxis.ucd"),
    _column("pol_states", "char", "Polarization states (not given)", ucd="meta.code;phys.polarization",
            utype="Char.PolarizationAxis.stateList"),
    _column("pol_xel", "long", "Number of polarization states (not given)", ucd="meta.number",
            utype="Char.PolarizationAxis.numBins"),
    _column("facility_name", "char", "Facility (the interferometer: CHARA)", ucd="meta.id;instr.tel",
            utype="Provenance.ObsConfig.Facility.name", principal=True),
    _column("instrument_name", "char", "Instrument (SPICA)", ucd="meta.id;instr",
            utype="Provenance.ObsConfig.Instrument.name", principal=True),
)  # fmt: skip

# the optional ObsCore columns taplint checks, and OiDB's bibliographic reference
OPTIONAL = (
    _column("obs_release_date", "char",
            "When the data are public: the end of the observation plus the programme's proprietary period",
            ucd="time.release", utype="Curation.releaseDate", xtype="timestamp"),
    _column("data_rights", "char", "public once released, secure before",
            ucd="meta.code", utype="Curation.Rights"),
    _column("proposal_id", "char", "Programme code", ucd="meta.id;obs.proposal",
            utype="Provenance.Proposal.identifier", principal=True),
    _column("obs_creator_name", "char", "Who pushed the file", ucd="meta.id", utype="DataID.Creator"),
    _column("target_class", "char", "science or calibrator", ucd="src.class", utype="Target.Class"),
    _column("em_resolution", "double", "Spectral resolution at the mean wavelength (lambda / em_res_power)",
            unit="m", ucd="spect.resolution;stat.mean", utype="Char.SpectralAxis.Resolution.Refval.value"),
    _column("bib_reference", "char", "Bibcode of the publication of the data", ucd="meta.bib.bibcode",
            utype="Curation.Reference"),
)  # fmt: skip

# OiDB's extension columns (JMMC-OpenDev/oidb conf/oidb.sql), then SPICA-DB's
EXTENSIONS = (
    _column("instrument_mode", "char", "Instrument mode (INSNAME's mode: LR, MR, HR)",
            ucd="meta.code;instr.setup", principal=True),
    _column("quality_level", "int", "OiDB's quality: 0 Unknown, 1 Trash, 2 To be reduced again, "
            "3 Quick look, 4 Science ready, 5 Outstanding (follows the night logs' flags)",
            ucd="meta.code.qual", principal=True),
    _column("interferometer_stations", "char", "CHARA stations of the granule", ucd="instr.setup"),
    _column("nb_channels", "int", "Number of spectral channels", ucd="meta.number"),
    _column("nb_vis", "int", "Number of complex visibilities (OI_VIS rows x channels)", ucd="meta.number"),
    _column("nb_vis2", "int", "Number of squared visibilities (OI_VIS2 rows x channels)", ucd="meta.number"),
    _column("nb_t3", "int", "Number of closure phases (OI_T3 rows x channels)", ucd="meta.number"),
    _column("nb_flux", "int", "Number of flux measurements (OI_FLUX rows x channels)", ucd="meta.number"),
    _column("progid", "char", "Programme identifier as the file gives it", ucd="meta.id;obs.proposal"),
    _column("datapi", "char", "Principal investigator of the programme", ucd="meta.id.PI"),
    _column("dataproduct_category", "char", "SCIENCE or CALIB", ucd="meta.code.class"),
    _column("proposal_subid", "char", "Sub-identifier within the programme", ucd="meta.id;obs.proposal"),
    _column("keywords", "char", "Keywords (not given)", ucd="meta.note"),
    _column("access_md5", "char", "MD5 checksum of the file", ucd="meta.checksum"),
    _column("t_exptime_min", "double", "OiDB's t_exptime: the shortest integration (INT_TIME) of the granule",
            unit="s", ucd="time.duration;obs.exposure"),
    _column("subdate", "char", "When the file was pushed", ucd="time.processing", xtype="timestamp"),
    _column("night", "char", "Night of the observation (local date of the evening)", ucd="time.epoch",
            xtype="timestamp"),
    _column("file_id", "char", "Identifier of the OIFITS file in SPICA-DB", ucd="meta.id;meta.file"),
)  # fmt: skip

OBSCORE = PublishedTable(
    schema="ivoa",
    name="ObsCore",
    description="ObsCore 1.1 view of SPICA's reduced interferometric data (OIFITS granules: target x "
    "instrument setup x night), with JMMC OiDB's extension columns; current granules only (a newer "
    "reduction replaces a file's). Proprietary rows are shown to their programme's members only.",
    utype=OBSCORE_UTYPE,
    columns=MANDATORY + OPTIONAL + EXTENSIONS,
)

LINKS = PublishedTable(
    schema="spicadb",
    name="links",
    description="L0 <-> L2: one row per night-log observation and current granule reduced from it, with "
    "the granule's data rights. observation_id and l0_did are DataLink IDs of the observation, "
    "obs_publisher_did the granule's (ivoa.ObsCore).",
    columns=(
        PublishedColumn(name="observation_id", datatype="char", arraysize="*", ucd="meta.id;obs",
                        description="Night-log observation (L0) identifier (a DataLink ID)", principal=True,
                        indexed=True),
        PublishedColumn(name="l0_did", datatype="char", arraysize="*", ucd="meta.ref.ivoid",
                        description="IVOA identifier of the L0 observation (a DataLink ID)", principal=True),
        PublishedColumn(name="obs_publisher_did", datatype="char", arraysize="*", ucd="meta.ref.ivoid",
                        description="IVOA identifier of the granule (ivoa.ObsCore.obs_publisher_did)",
                        principal=True),
        PublishedColumn(name="granule_id", datatype="char", arraysize="*", ucd="meta.id",
                        description="Granule identifier in SPICA-DB"),
        PublishedColumn(name="file_id", datatype="char", arraysize="*", ucd="meta.id;meta.file",
                        description="OIFITS file identifier in SPICA-DB"),
        PublishedColumn(name="night", datatype="char", arraysize="*", xtype="timestamp", ucd="time.epoch",
                        description="Night of the observation (local date of the evening)", principal=True),
        PublishedColumn(name="programme", datatype="char", arraysize="*", ucd="meta.id;obs.proposal",
                        description="Programme code", principal=True),
        PublishedColumn(name="target_name", datatype="char", arraysize="*", ucd="meta.id;src",
                        description="Target name of the granule"),
        PublishedColumn(name="instrument_mode", datatype="char", arraysize="*", ucd="meta.code;instr.setup",
                        description="Instrument mode of the granule"),
    ),
)  # fmt: skip

PUBLISHED = (OBSCORE, LINKS)


async def name_l0(context: ServiceContext[Any, Any]) -> None:
    """A startup hook: spicadb.links names the L0 observations under the prefix the service's DataLink
    answers (SPICADB_L0_DID_PREFIX), kept in the one-row table vo_naming (written only when it changes)."""
    settings: OidbSettings = context.settings
    async with context.pool.acquire() as conn:
        await conn.execute(
            "UPDATE vo_naming SET l0_did_prefix = $1 WHERE l0_did_prefix <> $1", settings.l0_did_prefix
        )
