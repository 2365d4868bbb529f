"""What the obsportal service publishes to the TAP service: ``obsportal.exposures``, the L0 view with
ObsPortal's search.votable columns (the same names, units and UCDs: services.exposures.FIELDS) and the
observation's uuid and L0 identifier, DataLink IDs. The view is migration 0006's."""

from __future__ import annotations

from typing import Any

from spicadb_kit.context import ServiceContext
from spicadb_kit.published import PublishedColumn, PublishedTable, VOTableType

from .config import ObsportalSettings
from .services.exposures import FIELDS

_DESCRIPTIONS = {
    "exp_id": "Exposure identifier: <exp_header_id>_<obs_id>",
    "exp_header_id": "SPICA.<UTC start of the first log, ISO with microseconds>",
    "exp_mjd_start": "Start of the exposure (MJD)",
    "exp_mjd_end": "End of the exposure (MJD)",
    "exp_projected_baselines": "Projected baselines: length and position angle at the start and the end, "
    "per baseline (the string Aspro2 parses)",
    "exp_validation_level": "Validation level from the night logs' flag: 0 not validated, 1 good, 2 usable, "
    "3 degraded, 4 bad",
    "exp_validation_log": "What the log misses or doubts (a JSON list of messages)",
    "exp_tau0": "Coherence time",
    "exp_temperature": "Ambient temperature (degrees Celsius)",
    "exp_seeing": "Seeing",
    "exp_date_updated": "Last change of the exposure (YYYY-MM-DD hh:mm:ss+00:00)",
    "exp_date_release": "When its data are public: the end plus the programme's proprietary period",
    "obs_id": "Observation number of the view",
    "obs_type": "science or calibrator",
    "obs_program": "Programme code",
    "obs_program_title": "Programme title",
    "obs_program_pi_coi": "Principal investigator of the programme",
    "interferometer_name": "Interferometer (CHARA)",
    "interferometer_stations": "CHARA stations used",
    "instrument_name": "Instrument (SPICA)",
    "instrument_mode": "Instrument mode",
    "instrument_submode": "Instrument submode (none)",
    "instrument_em_min": "Shortest wavelength of the mode",
    "instrument_em_max": "Longest wavelength of the mode",
    "instrument_em_res_power": "Spectral resolving power of the mode",
    "target_id": "Target number (targets by name, case and blanks aside)",
    "target_name": "Target name as the log gives it",
    "target_ra": "Right ascension of the target (ICRS)",
    "target_dec": "Declination of the target (ICRS)",
}
# bigint columns (ObsPortal writes int; the view's numbers are bigint)
_LONG = {"obs_id", "target_id"}
_PRINCIPAL = {
    "exp_id", "exp_mjd_start", "exp_mjd_end", "exp_validation_level", "exp_date_release", "obs_type",
    "obs_program", "instrument_mode", "target_name", "target_ra", "target_dec",
}  # fmt: skip
_INDEXED = {"target_ra", "target_dec", "exp_mjd_start"}


def _datatype(name: str, votable_type: str) -> VOTableType:
    if votable_type == "unicodeChar":
        return "char"
    if name in _LONG:
        return "long"
    return "double" if votable_type == "double" else "int"


def _column(name: str, votable_type: str, ucd: str | None, unit: str | None) -> PublishedColumn:
    datatype = _datatype(name, votable_type)
    return PublishedColumn(
        name=name,
        datatype=datatype,
        description=_DESCRIPTIONS[name],
        unit=unit,
        ucd=ucd,
        arraysize="*" if datatype == "char" else None,
        principal=name in _PRINCIPAL,
        indexed=name in _INDEXED,
    )


EXPOSURES = PublishedTable(
    schema="obsportal",
    name="exposures",
    description="SPICA's L0 exposures as JMMC's ObsPortal shows them (the columns of its search.votable): "
    "every observation CHARA logged with SPICA, its validation level and log, programme, instrument mode, "
    "conditions and target. Proprietary rows are shown to their programme's members only.",
    columns=(
        # ObsPortal's own (the answers' last column, the L0 DID under a configured prefix, is observation_id here)
        *(_column(f.name, f.datatype, f.ucd, f.unit) for f in FIELDS if f.name in _DESCRIPTIONS),
        PublishedColumn(name="observation_id", datatype="char", arraysize="*", ucd="meta.id;obs",
                        description="Night-log observation identifier: a DataLink ID (/oidb/links?ID=...) "
                        "of the granules reduced from it", principal=True),
        PublishedColumn(name="night", datatype="char", arraysize="*", xtype="timestamp", ucd="time.epoch",
                        description="Night of the observation (local date of the evening)"),
        PublishedColumn(name="obs_publisher_did", datatype="char", arraysize="*", ucd="meta.ref.ivoid",
                        description="IVOA identifier of the L0 observation (<SPICADB_L0_DID_PREFIX>?<uuid>), "
                        "as the SCS and search.votable answers give it: a DataLink ID"),
    ),
)  # fmt: skip

PUBLISHED = (EXPOSURES,)


async def name_l0(context: ServiceContext[Any, Any]) -> None:
    """A startup hook: obsportal.exposures names the L0 observations under the prefix the VO answers use
    (SPICADB_L0_DID_PREFIX), kept in the one-row table vo_naming (written only when it changes)."""
    settings: ObsportalSettings = context.settings
    async with context.pool.acquire() as conn:
        await conn.execute(
            "UPDATE vo_naming SET l0_did_prefix = $1 WHERE l0_did_prefix <> $1", settings.l0_did_prefix
        )
