"""The fast paths of a big log give what the plain ones give: the CSV read column by column is the log read
line by line; baselines computed for many lines at once are spicadb_astro's, rounded as events carry them."""

from __future__ import annotations

import msgspec
import pytest
from nightlogs_support import HEADER, NIGHT, csv_log, line, mjd_at
from spicadb_nightlogs import logfile
from spicadb_nightlogs.baselines import for_event, projected_baselines_many

from spicadb_astro import chara

EXTRA = HEADER + ",MJD_END,RA,DEC,RAW_FILES,COMMENTS"


def extra(text: str, end: str = "", ra: str = "", dec: str = "", files: str = "", comments: str = "") -> str:
    return f"{text},{end},{ra},{dec},{files},{comments}"


LOGS = {
    "plain": csv_log(*(line(f"HD {i}", 2.0 + i / 10, mode=("LR", "MR640", "HR")[i % 3]) for i in range(30))),
    "mixed": csv_log(
        extra(line("Vega", 3.0), ra="279.2347", dec="38.7837", files="a.fits b.fits", comments=" first "),
        extra(line("Altair", 3.1, combiner="MIRCX", mode="H")),
        extra(line("Deneb", 3.2, scopes="E1 W2 W1 S2", kind="CAL1"), end=str(mjd_at(3.25))),
        extra(line("hd_1", 3.3, combiner="spica_6t", mode="MR855"), files="c.fits;d.fits"),
        extra(line("HD 2", 3.4), ra="0", dec="-90"),
        header=EXTRA,
    ),
    "others only": csv_log(
        line("Altair", 3.1, combiner="MIRCX", mode="H"), line("Vega", 3.2, combiner="CLIMB")
    ),
    # the happy path steps aside; the line-by-line check words the errors
    "bad number": csv_log(line("Vega", 3.0), line("Deneb", 3.1).replace(",4.5,", ",x,")),
    "not finite": csv_log(line("Vega", 3.0).replace(",4.5,", ",nan,")),
    "blank star": csv_log(line("", 3.0)),
    "bad date": csv_log(line("Vega", 3.0, ut_date="2026-01-01")),
    "outside": csv_log(line("Vega", 30.0)),
    "duplicate": csv_log(line("Vega", 3.0), line("VEGA", 3.0)),
    "bad end": csv_log(extra(line("Vega", 3.0), end=str(mjd_at(2.0))), header=EXTRA),
    "bad ra": csv_log(extra(line("Vega", 3.0), ra="360.5", dec="10"), header=EXTRA),
    "ra 360": csv_log(extra(line("Vega", 3.0), ra="360", dec="10"), header=EXTRA),
    "sexagesimal": csv_log(extra(line("Vega", 3.0), ra="18:36:56.3", dec="+38 47 01"), header=EXTRA),
    "placeholders": csv_log(
        line("Vega", 3.0).replace(",4.5,", ",-,"), line("Deneb", 3.1).replace(",4.5,", ",TBD,")
    ),
    "infinite": csv_log(line("Vega", 3.0).replace(",4.5,", ",inf,")),
    "bad mode": csv_log(line("Vega", 3.0, mode="XX")),
    "bad scopes": csv_log(line("Vega", 3.0, scopes="E1-W2")),
}


@pytest.mark.parametrize("name", LOGS)
def test_a_csv_log_read_column_by_column_is_the_log_read_line_by_line(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    night = logfile.Night.of(NIGHT)
    taken = []
    fast_csv = logfile._fast_csv

    def spy(*args: object) -> logfile.ParsedLog | None:
        taken.append(fast_csv(*args) is not None)  # type: ignore[arg-type]
        return fast_csv(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(logfile, "_fast_csv", spy)
    fast = logfile.parse_log(LOGS[name], "text/csv", night, 600.0)
    monkeypatch.setattr(logfile, "_fast_csv", lambda *args: None)
    slow = logfile.parse_log(LOGS[name], "text/csv", night, 600.0)
    assert fast == slow
    assert taken == [not slow.errors]


def test_baselines_of_many_lines_are_spicadb_astros_and_events_carry_them_rounded() -> None:
    stations = [chara.STATIONS, ["E1", "W2", "W1", "S2"], chara.STATIONS, ["S1", "E1", "W1", "W2", "E2"]]
    ra, dec = [279.2347, 10.0, 0.001, 359.999], [38.7837, -20.0, 89.0, 0.0]
    start = [mjd_at(h) for h in (2.0, 3.0, 4.0, 5.0)]
    end = [m + 600 / 86400 for m in start]
    found = projected_baselines_many(stations, ra, dec, start, end)
    for i, configuration in enumerate(stations):
        expected = chara.projected_baselines(configuration, ra[i], dec[i], start[i], end[i])
        want = [list(msgspec.structs.astuple(b))[1:] for b in expected]
        assert len(found.rows[i]) == len(want)
        for row, wanted in zip(found.rows[i], want, strict=True):
            assert row == pytest.approx(wanted, abs=1e-6)
        assert [b.stations for b in found.structs[i]] == [b.stations for b in expected]
        got = [list(msgspec.structs.astuple(b))[1:] for b in found.structs[i]]
        for rounded, row in zip(got, found.rows[i], strict=True):
            assert rounded == pytest.approx(row, abs=5.0001e-4)  # to the mm, to 0.001 deg
        assert all(round(x, 3) == x for row in got for x in row)
        assert all(0.0 <= b.angle_start < 360.0 and 0.0 <= b.angle_end < 360.0 for b in found.structs[i])
        assert for_event(configuration, found.rows[i]) == found.structs[i]
