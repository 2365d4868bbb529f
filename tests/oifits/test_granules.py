"""ObsCore granules: one per target x INSNAME x night, night cut at the site's local noon (oifits.md §7.8)."""

from __future__ import annotations

import math
from datetime import date

import pytest
import synthetic as syn
from oifits_samples import MANIFEST, SAMPLES, sample_params
from spicadb_oifits.granules import Granule, granules, index, night_of, spica_mode


def oidb_night(mjd: float) -> int:
    """OiDB's night id: Java Math.round(MJD) = floor(MJD + 0.5), a split at 12:00 UT."""
    return math.floor(mjd + 0.5)


def of(**changes: object) -> list[Granule]:
    return granules(syn.spec_bytes(**changes))


# --- the night ---------------------------------------------------------------------------------------------


def test_chara_winter_night_crossing_0h_ut_and_noon_ut_is_one_granule() -> None:
    # 2023-01-09 19:00 PST (03:00 UT on the 10th) and 05:00 PST (13:00 UT): one night, the evening of the 9th
    evening, morning = syn.mjd("2023-01-10T03:00"), syn.mjd("2023-01-10T13:00")
    assert oidb_night(evening) != oidb_night(morning)  # OiDB would split this night in two
    result = of(observations=(syn.Observation(evening), syn.Observation(morning)))
    assert len(result) == 1
    granule = result[0]
    assert granule.night == date(2023, 1, 9)
    assert (granule.t_min, granule.t_max) == (evening, morning)
    assert granule.facility_name == "CHARA"


def test_chara_night_crossing_0h_ut_in_summer() -> None:
    # 2023-06-20 21:30 PDT (04:30 UT on the 21st) to 04:00 PDT (11:00 UT)
    result = of(
        observations=(
            syn.Observation(syn.mjd("2023-06-21T04:30")),
            syn.Observation(syn.mjd("2023-06-21T11:00")),
        )
    )
    assert [g.night for g in result] == [date(2023, 6, 20)]


def test_same_target_two_nights_apart_is_two_granules() -> None:
    result = of(
        observations=(
            syn.Observation(syn.mjd("2023-01-10T05:00")),
            syn.Observation(syn.mjd("2023-01-12T05:00")),
        )
    )
    assert [g.night for g in result] == [date(2023, 1, 9), date(2023, 1, 11)]


def test_chara_local_noon_is_the_cut() -> None:
    # local noon PST = 20:00 UT: 19:59 UT belongs to the previous night, 20:01 UT to the new one
    before, after = syn.mjd("2023-01-10T19:59"), syn.mjd("2023-01-10T20:01")
    result = of(observations=(syn.Observation(before), syn.Observation(after)))
    assert [g.night for g in result] == [date(2023, 1, 9), date(2023, 1, 10)]


def test_vlti_night_is_the_evening_date_at_paranal() -> None:
    # 23:00 UT on the 24th and 09:00 UT on the 25th at Paranal (UT-4h42m): one night, the evening of the 24th
    spec = syn.Spec(
        arrname="VLTI",
        array_xyz=syn.PARANAL_XYZ,
        stations=("A0", "B2", "C1", "D0"),
        observations=(
            syn.Observation(syn.mjd("2012-03-24T23:00"), stations=("A0", "B2", "C1")),
            syn.Observation(syn.mjd("2012-03-25T09:00"), stations=("A0", "B2", "C1")),
        ),
    )
    result = granules(syn.to_bytes(syn.build(spec)))
    assert [(g.night, g.facility_name) for g in result] == [(date(2012, 3, 24), "VLTI")]


def test_known_facility_longitude_when_array_position_is_missing() -> None:
    # ARRAYX/Y/Z = 0 (PIONIER samples): the VLTI longitude is taken from the known facilities
    spec = syn.Spec(
        arrname="VLTI",
        array_xyz=(0.0, 0.0, 0.0),
        stations=("A0", "B2", "C1"),
        observations=(syn.Observation(syn.mjd("2012-03-25T01:00"), stations=("A0", "B2", "C1")),),
    )
    assert [g.night for g in granules(syn.to_bytes(syn.build(spec)))] == [date(2012, 3, 24)]


def test_site_longitude_from_array_position_for_other_facilities() -> None:
    # an array at Mt Hopkins (-110.88 deg): local mean noon is 19:23 UT; 19:00 UT is still the previous night
    spec = syn.Spec(
        arrname="IOTA",
        array_xyz=syn.MT_HOPKINS_XYZ,
        stations=("A", "B", "C"),
        observations=(
            syn.Observation(syn.mjd("2004-01-10T19:00"), stations=("A", "B", "C")),
            syn.Observation(syn.mjd("2004-01-10T19:45"), stations=("A", "B", "C")),
        ),
    )
    result = granules(syn.to_bytes(syn.build(spec)))
    assert [(g.night, g.facility_name) for g in result] == [
        (date(2004, 1, 9), "IOTA"),
        (date(2004, 1, 10), "IOTA"),
    ]


def test_night_of_without_site_falls_back_to_greenwich() -> None:
    assert night_of(60000.49, None, False) == date(2023, 2, 24)
    assert night_of(60000.51, None, False) == date(2023, 2, 25)
    assert night_of(60000.51, -70.4, False) == date(2023, 2, 24)


def test_telescop_gives_the_facility_when_arrname_is_missing() -> None:
    hdus = syn.build(arrname="VLTI", array_xyz=syn.PARANAL_XYZ, primary={"TELESCOP": "ESO-VLTI-A1234"})
    for name in ("OI_VIS", "OI_VIS2", "OI_T3"):
        syn.set_key(hdus, name, "ARRNAME", None)
    [granule] = granules(syn.to_bytes(hdus))
    assert granule.facility_name == "VLTI"
    assert granule.interferometer_stations is None  # stations need the array


# --- the key and the counts --------------------------------------------------------------------------------


def test_one_granule_per_target_and_insname() -> None:
    night = syn.mjd("2023-05-19T06:00")
    spec = syn.Spec(
        targets=(syn.Target("HD 1"), syn.Target("HD 2", 30.0, -10.0, "CAL")),
        insnames={"SPICA_LR": (0.62e-6, 0.7e-6, 0.8e-6), "SPICA_MR": (0.76e-6, 0.8e-6, 0.84e-6)},
        observations=(
            syn.Observation(night, 1, "SPICA_LR"),
            syn.Observation(night + 0.01, 2, "SPICA_LR"),
            syn.Observation(night + 0.02, 1, "SPICA_MR"),
            syn.Observation(night + 0.03, 2, "SPICA_MR"),
            syn.Observation(night + 0.04, 2, "SPICA_MR"),
        ),
    )
    result = granules(syn.to_bytes(syn.build(spec)))
    assert sorted((g.target_name, g.insname) for g in result) == [
        ("HD 1", "SPICA_LR"),
        ("HD 1", "SPICA_MR"),
        ("HD 2", "SPICA_LR"),
        ("HD 2", "SPICA_MR"),
    ]
    hd2_mr = next(g for g in result if (g.target_name, g.insname) == ("HD 2", "SPICA_MR"))
    assert (hd2_mr.nb_vis, hd2_mr.nb_vis2, hd2_mr.nb_t3) == (6, 6, 2)  # rows, 3 baselines + 1 triangle each
    assert (hd2_mr.s_ra, hd2_mr.s_dec, hd2_mr.dataproduct_category) == (30.0, -10.0, "CALIB")


def test_granule_columns() -> None:
    start = syn.mjd("2023-05-19T06:00")
    spec = syn.Spec(
        observations=(
            syn.Observation(start, stations=("S1", "S2", "E1", "W2"), int_time=30.0),
            syn.Observation(start + 0.01, stations=("S1", "S2", "E1"), int_time=60.0),
        ),
        flux=True,
        primary={
            "SPICADB-ID": "LP-2026-01/WP3",
            "QUALITY LEVEL": 4,
            "PRO SCIENCE": False,
            "ARCFILE": "SPICA.2023-05-19T06:00:00.000.fits",
            "OBS PROG ID": "2023A-LP01",
        },
    )
    [granule] = granules(syn.to_bytes(syn.reverse_wavelengths(syn.build(spec))))
    assert granule.night == date(2023, 5, 18)
    assert (granule.insname, granule.target_id, granule.target_name) == ("SPICA_LR", 1, "HD 1")
    assert (granule.t_min, granule.t_max) == (start, start + 0.01)
    assert granule.t_exptime == 90.0  # sum over the two exposures, each counted once
    assert granule.int_time_min == 30.0  # OiDB's t_exptime
    assert granule.em_min == pytest.approx(0.62e-6)  # min/max, not first/last channel
    assert granule.em_max == pytest.approx(0.89e-6)
    assert granule.em_res_power == pytest.approx(140.0)
    assert granule.nb_channels == 8
    assert (granule.nb_vis, granule.nb_vis2, granule.nb_t3, granule.nb_flux) == (9, 9, 5, 2)
    assert (granule.facility_name, granule.instrument_name, granule.instrument_mode) == (
        "CHARA",
        "SPICA",
        "LR",
    )
    assert granule.interferometer_stations == "E1 S1 S2 W2"
    assert (granule.dataproduct_type, granule.access_format) == ("visibility", "application/x-fits-oifits")
    assert granule.calib_level == 2
    assert granule.proposal_subid == "LP-2026-01/WP3"
    assert granule.quality_level == 4
    assert granule.progid == "2023A-LP01"
    assert granule.obs_id == "SPICA.2023-05-19T06:00:00.000"
    # CATEGORY of the v2 OI_TARGET (SCI) wins over the file-level PRO SCIENCE = F
    assert granule.dataproduct_category == "SCIENCE"


def test_pro_science_gives_the_category_without_target_category() -> None:
    [granule] = granules(syn.to_bytes(syn.build(version=1, primary={"HIERARCH ESO PRO SCIENCE": False})))
    assert granule.dataproduct_category == "CALIB"
    [plain] = granules(syn.to_bytes(syn.build(version=1)))
    assert plain.dataproduct_category is None


def test_calib_level_given_by_the_caller() -> None:
    assert granules(syn.spec_bytes(), calib_level=3)[0].calib_level == 3


def test_flux_only_rows_make_no_granule() -> None:
    hdus = syn.build(flux=True)
    for name in ("OI_VIS", "OI_VIS2", "OI_T3"):
        hdus = syn.drop(hdus, name)
    assert granules(syn.to_bytes(hdus)) == []


def test_unreadable_or_unindexable_files_have_no_granule() -> None:
    raw = syn.spec_bytes()
    assert granules(b"nonsense") == []
    assert granules(raw[:1234]) == []
    assert granules(syn.to_bytes(syn.drop(syn.build(), "OI_TARGET"))) == []


def test_rows_with_unknown_references_are_skipped() -> None:
    hdus = syn.set_key(syn.build(), "OI_T3", "INSNAME", "NOPE")
    [granule] = granules(syn.to_bytes(hdus))
    assert (granule.nb_vis, granule.nb_vis2, granule.nb_t3) == (3, 3, 0)


# --- SPICA modes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("insmode", "waves", "resolving_power", "expected"),
    [
        ("MR720", (0.68e-6, 0.76e-6), 4134.0, "MR720"),  # INSMODE wins
        ("mr855", (0.82e-6, 0.9e-6), 4978.0, "MR850"),  # legacy name
        (None, (0.6025e-6, 0.8075e-6), 141.0, "LR"),  # Aspro2 sample: range wider than LR's channel centres
        (None, (0.76e-6, 0.84e-6), 4582.0, "MR800"),
        (None, (0.64e-6, 0.68e-6), 3678.0, "MR640"),
        (None, (0.706e-6, 0.734e-6), 13213.0, "HR"),
    ],
)
def test_spica_mode(
    insmode: str | None, waves: tuple[float, float], resolving_power: float, expected: str
) -> None:
    [granule] = of(
        insnames={"SPICA_6T": waves},
        resolving_power=resolving_power,
        observations=(syn.Observation(syn.mjd("2023-05-19T06:00"), insname="SPICA_6T"),),
        primary={"INSMODE": insmode},
    )
    assert granule.instrument_name == "SPICA"
    assert granule.instrument_mode == expected


def test_spica_mode_from_range_only() -> None:
    assert spica_mode("", 0.80e-6, 0.84e-6, None) == "MR800"


def test_other_instruments_keep_insmode() -> None:
    [granule] = of(
        insnames={"MIRCX_H": (1.5e-6, 1.6e-6, 1.7e-6)},
        observations=(syn.Observation(60083.25, insname="MIRCX_H"),),
    )
    assert (granule.instrument_name, granule.instrument_mode) == ("MIRC-X", "LR")


# --- the sample files of ../shared/data/oifits ---------------------------------------------------------------

# Our night (local date of the evening, local-noon cut) for each sample, where the MANIFEST notes name OiDB's
# round(MJD) night. The counts agree with OiDB's for all 16 samples: no sample has a night spanning 12:00 UT at
# CHARA, and OiDB's VLTI split (12:00 UT = 07:18 at Paranal) falls in daytime. Only the labels differ: OiDB names
# VLTI nights by the morning date, we by the evening date.
NIGHTS = {
    # "MJD 56011.04-56011.43 = 2012-03-25 UT while the file is named after the evening 2012-03-24"
    "2012-03-24_ALL_oiDataCalib.fits": {date(2012, 3, 24)},
    # "night 58459" (2018-12-07 UT, 06:58 UT at Paranal): the evening of 2018-12-06
    "2018-12-07T063809_HD45677_A0B2D0C1_IR-LM_LOW_Chop_cal_oifits_0.fits": {date(2018, 12, 6)},
    # "MJD 54927.98 (2009-04-06 23:32 UT) gets night id 54928 = 2009-04-07; second night 54931"
    "AMBER_070409.fits": {date(2009, 4, 6), date(2009, 4, 9)},
    # "MJD 55713.99 and 55714.01 ... share night id 55714": the evening of 2011-06-01 for both
    "T_PYX_oiDataCalib.fits": {date(2011, 4, 26), date(2011, 6, 1)},
    # "night 59185 (2020-12-02 UT)": 05:00-11:40 UT at CHARA, the evening of 2020-12-01 (PST)
    "chara-vega-oifits.fits": {date(2020, 12, 1)},
    # MJD 60083.32 = 2023-05-19 07:44 UT = 00:44 PDT: the evening of 2023-05-18
    "Aspro2_zet_Oph_CHARA_SPICA_0.60249-0.80749-42ch_S1-S2-E1-E2-W1-W2_2023-05-19.fits": {date(2023, 5, 18)},
}


@pytest.mark.parametrize("row", sample_params())
def test_sample_granule_counts_match_the_manifest(row: dict[str, str]) -> None:
    result = granules(SAMPLES / row["filename"])
    assert len(result) == int(row["oidb_granules_target_x_insname_x_night"])
    if row["filename"] in NIGHTS:
        assert {g.night for g in result} == NIGHTS[row["filename"]]
    for granule in result:
        assert granule.nb_channels > 0
        assert granule.nb_vis + granule.nb_vis2 + granule.nb_t3 > 0
        assert granule.em_min <= granule.em_max
        assert granule.t_min <= granule.t_max


def test_sample_spica_granule() -> None:
    path = SAMPLES / "Aspro2_zet_Oph_CHARA_SPICA_0.60249-0.80749-42ch_S1-S2-E1-E2-W1-W2_2023-05-19.fits"
    if not MANIFEST.is_file():
        pytest.skip(f"no OIFITS samples at {SAMPLES} (a clone without ../shared)")
    [granule] = granules(path)
    assert (granule.facility_name, granule.instrument_name, granule.instrument_mode) == (
        "CHARA",
        "SPICA",
        "LR",
    )
    assert granule.interferometer_stations == "E1 E2 S1 S2 W1 W2"
    assert (granule.nb_vis, granule.nb_vis2, granule.nb_t3, granule.nb_channels) == (15, 15, 20, 42)
    assert granule.em_res_power == pytest.approx(141, abs=1)


def test_sample_eso_keywords() -> None:
    if not MANIFEST.is_file():
        pytest.skip(f"no OIFITS samples at {SAMPLES} (a clone without ../shared)")
    [matisse] = granules(SAMPLES / "2018-12-07T063809_HD45677_A0B2D0C1_IR-LM_LOW_Chop_cal_oifits_0.fits")
    assert (matisse.progid, matisse.obs_id) == ("60.A-9257(E)", "MATIS.2018-12-07T06:53:46.498")
    assert matisse.em_min < matisse.em_max  # EFF_WAVE descending in the file
    gravity = granules(SAMPLES / "GRAVITY.2016-01-09T05-37-06_singlesci_calibrated.fits")
    # HIERARCH ESO PRO SCIENCE = F: a calibrator (OiDB does not read the ESO spelling)
    assert {(g.insname, g.instrument_name, g.dataproduct_category) for g in gravity} == {
        ("SPECTRO_FT", "GRAVITY", "CALIB"),
        ("SPECTRO_SC", "GRAVITY", "CALIB"),
    }
    [missing_arrname] = granules(SAMPLES / "BAD_v2_bad_missing_arrname.fits")[:1]
    assert missing_arrname.facility_name == "VLTI"  # from TELESCOP


def test_index_validates_and_extracts_in_one_read() -> None:
    report, result = index(syn.spec_bytes())
    assert (report.verdict, len(result)) == ("valid", 1)
    report, result = index(syn.to_bytes(syn.set_cell(syn.build(), "OI_T3", "TARGET_ID", 0, 7)))
    assert (report.verdict, result) == ("invalid", [])
    report, result = index(b"junk")
    assert (report.verdict, report.rules(), result) == ("invalid", {"R-FITS"}, [])
