"""OIFITS validation (lenient archive profile, oifits.md §6) on synthetic files and, when present, the samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import synthetic as syn
from astropy.io import fits
from oifits_samples import MANIFEST, SAMPLES, listed_rules, manifest_rows, sample_params
from spicadb_oifits.validation import Report, validate


def findings(report: Report, rule: str) -> list[str]:
    return [f"{f.location} | {f.message}" for f in report.findings if f.rule == rule]


def check(hdus: fits.HDUList) -> Report:
    return validate(syn.to_bytes(hdus))


# --- clean files and sources -------------------------------------------------------------------------------


def test_clean_v2_file_is_valid_without_findings() -> None:
    report = validate(syn.spec_bytes())
    assert report.version == "v2"
    assert report.verdict == "valid"
    assert report.findings == []


def test_clean_v1_file_is_valid_without_findings() -> None:
    report = check(syn.build(version=1))
    assert (report.version, report.verdict, report.findings) == ("v1", "valid", [])


def test_path_and_bytes_give_the_same_report(tmp_path: Path) -> None:
    raw = syn.corrupt_data(syn.spec_bytes(), "OI_VIS2")
    path = tmp_path / "x.fits"
    path.write_bytes(raw)
    assert validate(path) == validate(raw) == validate(str(path))
    assert validate(path).verdict == "valid-with-warnings"


# --- unreadable bytes: never raise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"not a fits file at all", b"SIMPLE  =                    T" + b" " * 100, bytes(range(256)) * 20],
    ids=["empty", "text", "short-header", "binary-noise"],
)
def test_non_fits_bytes_are_invalid_with_r_fits(raw: bytes) -> None:
    report = validate(raw)
    assert report.verdict == "invalid"
    assert report.version is None
    assert [f.rule for f in report.findings] == ["R-FITS"]
    assert report.findings[0].severity == "error"


def test_missing_path_is_invalid(tmp_path: Path) -> None:
    assert validate(tmp_path / "absent.fits").findings[0].rule == "R-FITS"


@pytest.mark.parametrize("cut", [100, 1234, 2880 * 3, -2880, -1])
def test_truncated_files_are_invalid_with_r_fits(cut: int) -> None:
    raw = syn.spec_bytes()
    report = validate(syn.truncate(raw, cut if cut > 0 else len(raw) + cut))
    assert report.verdict == "invalid"
    assert "R-FITS" in report.rules()


# --- structure -------------------------------------------------------------------------------------------------


def test_missing_oi_target_is_r_target() -> None:
    report = check(syn.drop(syn.build(), "OI_TARGET"))
    assert report.verdict == "invalid"
    assert findings(report, "R-TARGET") == ["file | 0 OI_TARGET tables; exactly one is required"]


def test_missing_wavelength_is_r_wave_and_dangling_insname() -> None:
    report = check(syn.drop(syn.build(), "OI_WAVELENGTH"))
    assert {"R-WAVE", "R-INSNAME"} <= report.rules()
    assert report.verdict == "invalid"


def test_no_data_table_is_r_data() -> None:
    hdus = syn.build()
    for name in ("OI_VIS", "OI_VIS2", "OI_T3"):
        hdus = syn.drop(hdus, name)
    report = check(hdus)
    assert report.rules() == {"R-DATA"}
    assert report.verdict == "invalid"


def test_v2_without_oi_array_warns() -> None:
    report = check(syn.drop(syn.build(), "OI_ARRAY"))
    assert report.verdict == "valid-with-warnings"
    assert "file | no OI_ARRAY table (required in v2)" in findings(report, "W-ARRAY")


def test_unknown_table_and_column_are_w_extra() -> None:
    hdus = syn.build()
    hdus.append(fits.BinTableHDU.from_columns([fits.Column("X", "D", array=[1.0])], name="OI_SPECTRUM"))
    cols = [*syn.columns_of(hdus, "OI_VIS"), fits.Column("VISDATA", "8C", array=np.zeros((3, 8), complex))]
    syn.replace_table(hdus, "OI_VIS", cols)
    report = check(hdus)
    assert report.verdict == "valid-with-warnings"
    extra = findings(report, "W-EXTRA")
    assert any("unknown table 'OI_SPECTRUM'" in f for f in extra)
    assert any(f.startswith("HDU 4 OI_VIS [INSNAME=SPICA_LR]") and "VISDATA" in f for f in extra)


def test_missing_mandatory_column_is_r_columns() -> None:
    hdus = syn.build()
    cols = [c for c in syn.columns_of(hdus, "OI_VIS2") if c.name != "VIS2ERR"]
    report = check(syn.replace_table(hdus, "OI_VIS2", cols))
    assert report.verdict == "invalid"
    assert findings(report, "R-COLUMNS") == [
        "HDU 5 OI_VIS2 [INSNAME=SPICA_LR], column VIS2ERR | mandatory column VIS2ERR missing"
    ]


def test_column_dimension_other_than_nwave_is_r_columns() -> None:
    hdus = syn.build()
    cols = [
        fits.Column("VIS2DATA", "7D", array=np.full((3, 7), 0.5)) if c.name == "VIS2DATA" else c
        for c in syn.columns_of(hdus, "OI_VIS2")
    ]
    report = check(syn.replace_table(hdus, "OI_VIS2", cols))
    assert any("7 element(s) per row, expected 8" in f for f in findings(report, "R-COLUMNS"))


# --- cross-references ----------------------------------------------------------------------------------------


def test_dangling_insname_is_r_insname_with_location() -> None:
    report = check(syn.set_key(syn.build(), "OI_VIS2", "INSNAME", "NOPE"))
    assert report.verdict == "invalid"
    assert findings(report, "R-INSNAME") == [
        "HDU 5 OI_VIS2 [INSNAME=NOPE] | INSNAME 'NOPE' matches no OI_WAVELENGTH"
    ]


def test_duplicate_insname_is_r_insname() -> None:
    hdus = syn.build()
    hdus.insert(3, hdus[syn.index_of(hdus, "OI_WAVELENGTH")].copy())
    report = check(hdus)
    assert "file | INSNAME 'SPICA_LR' defined by 2 OI_WAVELENGTH tables" in findings(report, "R-INSNAME")


def test_dangling_arrname_warns() -> None:
    report = check(syn.set_key(syn.build(), "OI_T3", "ARRNAME", "ELSEWHERE"))
    assert report.verdict == "valid-with-warnings"
    assert findings(report, "W-ARRAY") == [
        "HDU 6 OI_T3 [INSNAME=SPICA_LR] | ARRNAME 'ELSEWHERE' matches no OI_ARRAY"
    ]


def test_missing_arrname_in_v2_warns() -> None:
    report = check(syn.set_key(syn.build(), "OI_VIS2", "ARRNAME", None))
    assert findings(report, "W-ARRAY") == [
        "HDU 5 OI_VIS2 [INSNAME=SPICA_LR] | ARRNAME missing (required in v2)"
    ]


def test_missing_arrname_in_v1_is_fine() -> None:
    report = check(syn.set_key(syn.build(version=1), "OI_VIS2", "ARRNAME", None))
    assert report.verdict == "valid"


def test_sta_index_absent_from_array_warns_with_row() -> None:
    report = check(syn.set_cell(syn.build(), "OI_VIS2", "STA_INDEX", 1, [1, 9]))
    assert findings(report, "W-ARRAY") == [
        "HDU 5 OI_VIS2 [INSNAME=SPICA_LR], column STA_INDEX, row 2 | STA_INDEX [9] not in OI_ARRAY 'CHARA'"
    ]


def test_unknown_target_id_is_r_targetref_with_row() -> None:
    report = check(syn.set_cell(syn.build(), "OI_T3", "TARGET_ID", 0, 7))
    assert report.verdict == "invalid"
    assert findings(report, "R-TARGETREF") == [
        "HDU 6 OI_T3 [INSNAME=SPICA_LR], column TARGET_ID, row 1 | TARGET_ID(s) [7] absent from OI_TARGET"
    ]


def test_duplicate_target_id_is_r_targetref() -> None:
    spec = syn.Spec(targets=(syn.Target("A"), syn.Target("B", 30.0, 40.0)))
    report = check(syn.set_cell(syn.build(spec), "OI_TARGET", "TARGET_ID", 1, 1))
    assert report.verdict == "invalid"
    assert any("TARGET_ID 1 appears 2 times" in f for f in findings(report, "R-TARGETREF"))


def test_duplicate_target_name_and_zero_coordinates_warn() -> None:
    spec = syn.Spec(targets=(syn.Target("Mystery", 0.0, 0.0), syn.Target("Mystery", 1.0, 1.0)))
    report = check(syn.build(spec))
    assert report.verdict == "valid-with-warnings"
    warnings = findings(report, "W-TARGET")
    assert "HDU 1 OI_TARGET, column TARGET | TARGET 'Mystery' on 2 rows" in warnings
    assert any(f.startswith("HDU 1 OI_TARGET, column RAEP0, row 1") for f in warnings)


# --- values, times, wavelengths ----------------------------------------------------------------------------


def test_reversed_wavelengths_warn() -> None:
    report = check(syn.reverse_wavelengths(syn.build()))
    assert report.verdict == "valid-with-warnings"
    assert findings(report, "W-WAVE") == [
        "HDU 3 OI_WAVELENGTH [INSNAME=SPICA_LR], column EFF_WAVE | EFF_WAVE descending over 8 channels"
    ]


def test_bad_checksum_warns_per_hdu() -> None:
    report = validate(syn.corrupt_data(syn.spec_bytes(), "OI_VIS2"))
    assert report.verdict == "valid-with-warnings"
    assert findings(report, "W-CHECKSUM") == [
        "HDU 5 OI_VIS2 | CHECKSUM and DATASUM do not match the HDU's content"
    ]


def test_checksums_of_a_stored_file_are_summed_on_its_bytes(tmp_path: Path) -> None:
    """From a path the sums are taken on the bytes as written (not astropy's rebuilt headers): the same
    findings, and none for a clean file."""
    clean, broken = tmp_path / "clean.fits", tmp_path / "broken.fits"
    clean.write_bytes(syn.spec_bytes())
    broken.write_bytes(syn.corrupt_data(syn.spec_bytes(), "OI_VIS2"))
    assert findings(validate(clean), "W-CHECKSUM") == []
    assert findings(validate(broken), "W-CHECKSUM") == [
        "HDU 5 OI_VIS2 | CHECKSUM and DATASUM do not match the HDU's content"
    ]


def test_time_not_zero_warns_in_v2_only() -> None:
    v2 = check(syn.set_cell(syn.build(), "OI_VIS", "TIME", 2, 3600.0))
    assert findings(v2, "W-TIME") == [
        "HDU 4 OI_VIS [INSNAME=SPICA_LR], column TIME, row 3 | 1 TIME value(s) not 0 (TIME must be 0 in v2; MJD is the time)"
    ]
    v1 = check(syn.set_cell(syn.build(version=1), "OI_VIS", "TIME", 2, 3600.0))
    assert v1.verdict == "valid"


def test_mjd_out_of_range_and_bad_date_obs_warn() -> None:
    hdus = syn.set_cell(syn.build(), "OI_VIS2", "MJD", 0, 0.0)
    syn.set_key(hdus, "OI_T3", "DATE-OBS", "19/05/2023")
    report = check(hdus)
    times = findings(report, "W-TIME")
    assert any(f.startswith("HDU 5 OI_VIS2 [INSNAME=SPICA_LR], column MJD, row 1") for f in times)
    assert any("DATE-OBS '19/05/2023'" in f for f in times)


def test_unflagged_negative_error_and_unnormalised_t3amp_warn() -> None:
    hdus = syn.set_cell(syn.build(), "OI_VIS2", "VIS2ERR", 2, -0.1)
    syn.set_cell(hdus, "OI_T3", "T3AMP", 0, 5.0)
    report = check(hdus)
    values = findings(report, "W-VALUES")
    assert any(f.startswith("HDU 5 OI_VIS2 [INSNAME=SPICA_LR], column VIS2ERR, row 3") for f in values)
    assert any("T3AMP - 1 > T3AMPERR" in f for f in values)


def test_flagged_bad_values_are_fine() -> None:
    hdus = syn.set_cell(syn.build(), "OI_VIS2", "VIS2ERR", 2, -0.1)
    syn.set_cell(hdus, "OI_VIS2", "FLAG", 2, True)
    assert check(hdus).verdict == "valid"


def test_differential_phase_without_visrefmap_warns_in_v2() -> None:
    report = check(syn.set_key(syn.build(), "OI_VIS", "PHITYP", "differential"))
    assert findings(report, "W-VIS") == [
        "HDU 4 OI_VIS [INSNAME=SPICA_LR] | AMPTYP or PHITYP differential without VISREFMAP"
    ]
    assert check(syn.set_key(syn.build(version=1), "OI_VIS", "PHITYP", "differential")).verdict == "valid"


def test_flux_inconsistencies_warn() -> None:
    hdus = syn.build(flux=True)
    assert check(hdus).verdict == "valid"
    syn.set_key(hdus, "OI_FLUX", "CALSTAT", "U")
    syn.set_key(hdus, "OI_FLUX", "FOVTYPE", "RADIUS")
    report = check(hdus)
    assert findings(report, "W-FLUX") == [
        "HDU 7 OI_FLUX [INSNAME=SPICA_LR] | uncalibrated flux (CALSTAT='U') without ARRNAME or STA_INDEX",
        "HDU 7 OI_FLUX [INSNAME=SPICA_LR] | uncalibrated flux (CALSTAT='U') with FOVTYPE",
    ]


# --- version and primary header -------------------------------------------------------------------------------


def test_missing_v2_primary_keywords_warn() -> None:
    report = check(syn.set_key(syn.set_key(syn.build(), "PRIMARY", "INSMODE", None), "PRIMARY", "DATE", None))
    assert findings(report, "W-HEADER") == [
        "HDU 0 PRIMARY | v2 primary keyword(s) missing or empty: DATE, INSMODE"
    ]


def test_version_comes_from_the_tables_not_content() -> None:
    # rev-2 tables without CONTENT (MIRC-X L2 style): v2, with a W-VERSION
    no_content = check(syn.set_key(syn.build(), "PRIMARY", "CONTENT", None))
    assert no_content.version == "v2"
    assert "W-VERSION" in no_content.rules()
    # CONTENT='OIFITS2' over rev-1 tables (GRAVITY SV style): v1, with a W-VERSION
    declared = check(syn.set_key(syn.build(version=1), "PRIMARY", "CONTENT", "OIFITS2"))
    assert declared.version == "v1"
    assert "W-VERSION" in declared.rules()
    # CONTENT='OIFITS1' over rev-1 tables (PIONIER archive style): v1, info only
    info = check(syn.set_key(syn.build(version=1), "PRIMARY", "CONTENT", "OIFITS1"))
    assert (info.version, info.verdict, info.rules()) == ("v1", "valid", {"I-CONTENT"})


def test_v2_only_table_in_v1_file_warns() -> None:
    report = check(syn.build(version=1, flux=True))
    assert report.version == "v1"
    assert any("OI_FLUX" in f for f in findings(report, "W-VERSION"))


def test_multiple_instead_of_multi_is_info() -> None:
    report = check(syn.set_key(syn.build(), "PRIMARY", "INSTRUME", "MULTIPLE"))
    assert (report.verdict, report.rules()) == ("valid", {"I-MULTI"})
    assert report.findings[0].severity == "info"


# --- the sample files of ../shared/data/oifits ---------------------------------------------------------------

# rules we report beyond those the MANIFEST lists, each checked against the file (see the report to the lead)
EXTRA_RULES = {
    # OI_INSPOL rows name INSNAME 'AMBER-like' while the file has no OI_WAVELENGTH (oitools INSNAME_REF: ERROR)
    "BROKEN_V1_with_V2_Tables.fits": {"R-INSNAME"},
    # the early GRAVITY OI_FLUX writes FLUX instead of FLUXDATA and has no CALSTAT
    "GRAVITY.2016-01-09T05-37-06_singlesci_calibrated.fits": {"W-FLUX"},
}


@pytest.mark.parametrize("row", sample_params())
def test_sample_verdicts_match_the_manifest(row: dict[str, str]) -> None:
    report = validate(SAMPLES / row["filename"])
    assert report.verdict == row["expected_verdict"], report.findings
    listed = listed_rules(row["verdict_rules"])
    found = {rule for rule in report.rules() if not rule.startswith("I-")}
    assert listed <= found, f"MANIFEST rules not found: {listed - found}"
    assert found - listed == EXTRA_RULES.get(row["filename"], set())
    assert all(f.location for f in report.findings)


def test_sample_folder_present_or_skip() -> None:
    if not MANIFEST.is_file():
        pytest.skip(f"no OIFITS samples at {SAMPLES} (a clone without ../shared)")
    # 16 sample files + MANIFEST.tsv = the 17 files of the folder; every sample is listed and present
    listed = {row["filename"] for row in manifest_rows()}
    assert listed == {path.name for path in SAMPLES.glob("*.fits")}
    assert len(listed) == 16
