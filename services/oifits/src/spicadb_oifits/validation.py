"""OIFITS validation: the lenient "archive" profile of ``oifits.md`` §6.

``validate(source)`` never raises on bad bytes: an unreadable file is an ``invalid`` report with an R-FITS
finding. Rule ids are SPICA-DB's (§6): R-* reject (severity ``error``), W-* warn (``warning``), I-* inform
(``info``). The verdict is ``invalid`` when any error is found, ``valid-with-warnings`` when any warning is,
``valid`` otherwise. One finding is given per rule, table and column (with the first offending row and a count),
not one per cell, so that a report stays small enough to be stored with the file record.

Version (§1): decided from the tables, not from the primary ``CONTENT`` alone. The OI_REVN of the classic tables
(OI_TARGET, OI_ARRAY, OI_WAVELENGTH, OI_VIS, OI_VIS2, OI_T3) decides: all 1 -> v1, all 2 -> v2; when they
disagree, ``CONTENT='OIFITS2'`` picks v2, else v1. A file without classic tables has no version (``None``).
Disagreements between CONTENT, OI_REVN and the tables present are W-VERSION findings, never a rejection.

Severity choices where the references leave room (documented so that the strict DRS profile can tighten them):

- a dangling ARRNAME or a STA_INDEX missing from OI_ARRAY is W-ARRAY (warning), as §6 says: granules do not
  need the array, and facility falls back to TELESCOP;
- a duplicate TARGET_ID in OI_TARGET makes target references ambiguous: R-TARGETREF (error), as oitools'
  OI_TARGET_TARGETID_UNIQ;
- descending wavelengths are W-WAVE (warning): the MANIFEST's bad_wave_reversed sample is valid-with-warnings;
- OI_FLUX is not used for granules, so its column and keyword problems are W-FLUX, not R-COLUMNS;
- VISAMP/VISAMPERR missing from OI_VIS is W-VIS (oitools treats them as optional).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Literal

import msgspec
import numpy as np
from astropy.io import fits

from .checksum import bad_sums, mapped
from .reader import (
    CLASSIC_TABLES,
    DATA_TABLES,
    FLUX_TABLE,
    KNOWN_TABLES,
    V2_ONLY_TABLES,
    Source,
    Unreadable,
    column,
    open_oifits,
    rows,
    tables,
    text,
)
from .rules import (
    DATE_OBS,
    DRS_KEYWORDS,
    ERROR_COLUMNS,
    FLOAT,
    MANDATORY,
    MJD_MAX,
    MJD_MIN,
    MULTI_KEYWORDS,
    NWAVE,
    OPTIONAL,
    V2_PRIMARY_MANDATORY,
)

Severity = Literal["error", "warning", "info"]
Verdict = Literal["valid", "valid-with-warnings", "invalid"]
Version = Literal["v1", "v2"]


class Finding(msgspec.Struct, frozen=True):
    """One problem: SPICA-DB rule id, severity, where (HDU index and name, column, row) and what."""

    rule: str
    severity: Severity
    location: str
    message: str


class Report(msgspec.Struct, frozen=True):
    version: Version | None
    verdict: Verdict
    findings: list[Finding]

    def rules(self) -> set[str]:
        return {finding.rule for finding in self.findings}


def _loc(
    index: int | None, name: str, col: str | None = None, row: int | None = None, extra: str = ""
) -> str:
    """'HDU 4 OI_VIS2 [INSNAME=X], column VIS2ERR, row 12' (rows 1-based, as in FITS)."""
    where = "file" if index is None else f"HDU {index} {name or '(no EXTNAME)'}"
    if extra:
        where += f" [{extra}]"
    if col:
        where += f", column {col}"
    if row is not None:
        where += f", row {row}"
    return where


def _severity(rule: str) -> Severity:
    return "error" if rule.startswith("R-") else "warning" if rule.startswith("W-") else "info"


class _Checker:
    def __init__(self, hdus: fits.HDUList) -> None:
        self.hdus = hdus
        self.findings: list[Finding] = []
        self.tables = tables(hdus)
        self.by_name: dict[str, list[tuple[int, fits.BinTableHDU]]] = defaultdict(list)
        for index, name, hdu in self.tables:
            self.by_name[name].append((index, hdu))
        self.primary = hdus[0].header
        self.content = text(self.primary.get("CONTENT"))
        self.version: Version | None = None
        self.nwave: dict[str, int] = {}  # INSNAME -> NWAVE (unique INSNAMEs only)
        self.insname_count: Counter[str] = Counter()
        self.arrays: dict[str, set[int]] = {}  # ARRNAME -> STA_INDEX values
        self.target_ids: set[int] = set()

    def add(self, rule: str, location: str, message: str) -> None:
        self.findings.append(Finding(rule, _severity(rule), location, message))

    def _label(self, index: int, name: str, hdu: fits.BinTableHDU) -> str:
        for key in ("INSNAME", "ARRNAME", "CORRNAME"):
            value = text(hdu.header.get(key))
            if value:
                return f"{key}={value}"
        return ""

    def loc(
        self, index: int, name: str, hdu: fits.BinTableHDU, col: str | None = None, row: int | None = None
    ) -> str:
        return _loc(index, name, col, row, self._label(index, name, hdu))

    # --- file level ------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.checksums()
        self.decide_version()
        self.structure()
        if self.version == "v2":
            self.primary_header()
        self.multi_keywords()
        self.wavelengths()
        self.arrays_()
        self.targets()
        for index, name, hdu in self.tables:
            if name in MANDATORY:
                self.columns(index, name, hdu)
            if name in (*DATA_TABLES, FLUX_TABLE):
                self.data_table(index, name, hdu)
            if name == "OI_INSPOL":
                self.inspol(index, name, hdu)
            if name == "OI_CORR":
                self.corr(index, name, hdu)

    def checksums(self) -> None:
        """CHECKSUM and DATASUM of every HDU that carries them (summed on the file's bytes: ``checksum``)."""
        raw = mapped(self.hdus)
        for index, hdu in enumerate(self.hdus):
            name = text(hdu.header.get("EXTNAME")) or ("PRIMARY" if index == 0 else "")
            try:
                bad = bad_sums(hdu, raw)
            except Exception as exc:
                bad = [f"unverifiable ({type(exc).__name__})"]
            if bad:
                self.add(
                    "W-CHECKSUM", _loc(index, name), f"{' and '.join(bad)} do not match the HDU's content"
                )

    def decide_version(self) -> None:
        revisions: dict[str, set[int]] = defaultdict(set)
        for index, name, hdu in self.tables:
            if name not in KNOWN_TABLES:
                continue
            revn = hdu.header.get("OI_REVN")
            if not isinstance(revn, int | np.integer):
                self.add(
                    "W-VERSION", self.loc(index, name, hdu), f"OI_REVN missing or not an integer ({revn!r})"
                )
                continue
            revisions[name].add(int(revn))
        classic = set().union(*(revisions[name] for name in CLASSIC_TABLES if name in revisions))
        if classic == {1}:
            self.version = "v1"
        elif classic == {2}:
            self.version = "v2"
        elif classic:
            self.version = "v2" if self.content == "OIFITS2" else "v1"
            self.add(
                "W-VERSION",
                "file",
                f"classic tables mix OI_REVN {sorted(classic)}; taken as {self.version} (CONTENT={self.content!r})",
            )
        declared: Version = "v2" if self.content == "OIFITS2" else "v1"
        v2_only = sorted(name for name in V2_ONLY_TABLES if name in self.by_name)
        if self.version is not None and declared != self.version:
            self.add(
                "W-VERSION",
                _loc(0, "PRIMARY", "CONTENT"),
                f"CONTENT={self.content or '(absent)'!r} declares {declared} but the tables' OI_REVN say {self.version}",
            )
        elif self.content and self.content != "OIFITS2":
            self.add(
                "I-CONTENT",
                _loc(0, "PRIMARY", "CONTENT"),
                f"CONTENT={self.content!r} is not a defined value; v1",
            )
        if v2_only and (declared == "v1" or self.version == "v1"):
            self.add(
                "W-VERSION",
                "file",
                f"v2-only table(s) {', '.join(v2_only)} in a file declared or written as v1",
            )
        for name in V2_ONLY_TABLES:
            if revisions.get(name, {1}) != {1}:
                self.add(
                    "W-VERSION", _loc(None, name), f"{name} has OI_REVN {sorted(revisions[name])}, expected 1"
                )
        if self.version is not None:
            expected = 1 if self.version == "v1" else 2
            for name in CLASSIC_TABLES:
                if name in revisions and revisions[name] != {expected} and len(classic) == 1:
                    self.add(
                        "W-VERSION",
                        _loc(None, name),
                        f"OI_REVN {sorted(revisions[name])}, expected {expected}",
                    )

    def structure(self) -> None:
        targets = self.by_name.get("OI_TARGET", [])
        if len(targets) != 1:
            self.add("R-TARGET", "file", f"{len(targets)} OI_TARGET tables; exactly one is required")
        elif rows(targets[0][1]) == 0:
            index, hdu = targets[0]
            self.add("R-TARGET", self.loc(index, "OI_TARGET", hdu), "OI_TARGET has no rows")
        if not self.by_name.get("OI_WAVELENGTH"):
            self.add("R-WAVE", "file", "no OI_WAVELENGTH table")
        if not any(self.by_name.get(name) for name in (*DATA_TABLES, FLUX_TABLE)):
            self.add("R-DATA", "file", "no data table (OI_VIS, OI_VIS2, OI_T3 or OI_FLUX)")
        if self.version == "v2" and not self.by_name.get("OI_ARRAY"):
            self.add("W-ARRAY", "file", "no OI_ARRAY table (required in v2)")
        for index, name, _hdu in self.tables:
            if name not in KNOWN_TABLES:
                self.add("W-EXTRA", _loc(index, name), f"unknown table {name or '(no EXTNAME)'!r}")
        for index, hdu in enumerate(self.hdus):
            if index > 0 and not isinstance(hdu, fits.BinTableHDU):
                self.add(
                    "W-EXTRA",
                    _loc(index, text(hdu.header.get("EXTNAME"))),
                    f"non-table extension {type(hdu).__name__}",
                )

    def primary_header(self) -> None:
        missing = [key for key in V2_PRIMARY_MANDATORY if not text(self.primary.get(key))]
        if missing:
            self.add(
                "W-HEADER",
                _loc(0, "PRIMARY"),
                f"v2 primary keyword(s) missing or empty: {', '.join(missing)}",
            )

    def multi_keywords(self) -> None:
        for key in MULTI_KEYWORDS:
            if text(self.primary.get(key)).upper() == "MULTIPLE":
                self.add(
                    "I-MULTI", _loc(0, "PRIMARY", key), f"{key}='MULTIPLE' instead of the standard 'MULTI'"
                )

    # --- reference tables ------------------------------------------------------------------------------------

    def wavelengths(self) -> None:
        for index, hdu in self.by_name.get("OI_WAVELENGTH", []):
            insname = text(hdu.header.get("INSNAME"))
            if not insname:
                self.add("R-INSNAME", self.loc(index, "OI_WAVELENGTH", hdu), "OI_WAVELENGTH without INSNAME")
                continue
            self.insname_count[insname] += 1
            self.nwave[insname] = rows(hdu)
            wave = column(hdu, "EFF_WAVE")
            band = column(hdu, "EFF_BAND")
            if wave is None or len(wave) == 0:
                continue
            wave = wave.astype(float)
            where = self.loc(index, "OI_WAVELENGTH", hdu, "EFF_WAVE")
            # a repeated wavelength is tolerated (AMBER_070409 repeats its last channel), a decrease is not
            if len(wave) > 1 and np.any(np.diff(wave) < 0):
                order = "descending" if np.all(np.diff(wave) < 0) else "not ascending"
                self.add("W-WAVE", where, f"EFF_WAVE {order} over {len(wave)} channels")
            outside = ~((wave >= 0.1e-6) & (wave <= 20e-6))
            if outside.any():
                first = int(np.argmax(outside)) + 1
                self.add(
                    "W-WAVE",
                    _loc(index, "OI_WAVELENGTH", "EFF_WAVE", first),
                    f"{outside.sum()} EFF_WAVE outside 0.1-20 um",
                )
            if band is not None:
                bad = ~(band.astype(float) > 0)
                if bad.any():
                    self.add(
                        "W-WAVE",
                        self.loc(index, "OI_WAVELENGTH", hdu, "EFF_BAND", int(np.argmax(bad)) + 1),
                        f"{bad.sum()} EFF_BAND not > 0",
                    )
        for insname, count in self.insname_count.items():
            if count > 1:
                self.nwave.pop(insname, None)
                self.add("R-INSNAME", "file", f"INSNAME {insname!r} defined by {count} OI_WAVELENGTH tables")

    def arrays_(self) -> None:
        names: Counter[str] = Counter()
        for index, hdu in self.by_name.get("OI_ARRAY", []):
            header = hdu.header
            arrname = text(header.get("ARRNAME"))
            where = self.loc(index, "OI_ARRAY", hdu)
            if not arrname:
                self.add("W-ARRAY", where, "OI_ARRAY without ARRNAME")
                continue
            names[arrname] += 1
            if text(header.get("FRAME")).upper() not in ("GEOCENTRIC", "SKY"):
                self.add("W-ARRAY", where, f"FRAME={header.get('FRAME')!r} is not GEOCENTRIC or SKY")
            missing = [key for key in ("ARRAYX", "ARRAYY", "ARRAYZ") if key not in header]
            if missing:
                self.add("W-ARRAY", where, f"keyword(s) missing: {', '.join(missing)}")
            if self.version == "v2":
                absent = [name for name in ("FOV", "FOVTYPE") if name not in hdu.columns.names]
                if absent:
                    self.add("W-ARRAY", where, f"v2 column(s) missing: {', '.join(absent)}")
            index_col = column(hdu, "STA_INDEX")
            stations = set() if index_col is None else {int(value) for value in index_col}
            if index_col is not None and len(stations) != len(index_col):
                self.add(
                    "W-ARRAY", self.loc(index, "OI_ARRAY", hdu, "STA_INDEX"), "STA_INDEX values not unique"
                )
            self.arrays[arrname] = stations
        for arrname, count in names.items():
            if count > 1:
                self.add("W-ARRAY", "file", f"ARRNAME {arrname!r} defined by {count} OI_ARRAY tables")

    def targets(self) -> None:
        targets = self.by_name.get("OI_TARGET", [])
        if len(targets) != 1:
            return
        index, hdu = targets[0]
        ids = column(hdu, "TARGET_ID")
        if ids is None:
            return
        counts = Counter(int(value) for value in ids)
        self.target_ids = set(counts)
        for target_id, count in sorted(counts.items()):
            if count > 1:
                self.add(
                    "R-TARGETREF",
                    self.loc(index, "OI_TARGET", hdu, "TARGET_ID"),
                    f"TARGET_ID {target_id} appears {count} times: references to it are ambiguous",
                )
        low = [int(value) for value in ids if value < 1]
        if low:
            row = int(np.argmax(ids < 1)) + 1
            self.add("W-TARGET", self.loc(index, "OI_TARGET", hdu, "TARGET_ID", row), f"TARGET_ID < 1: {low}")
        names = column(hdu, "TARGET")
        if names is not None:
            labels = [text(value) for value in names]
            for row, label in enumerate(labels, 1):
                if not label:
                    self.add(
                        "W-TARGET", self.loc(index, "OI_TARGET", hdu, "TARGET", row), "empty TARGET name"
                    )
            for label, count in Counter(labels).items():
                if label and count > 1:
                    self.add(
                        "W-TARGET",
                        self.loc(index, "OI_TARGET", hdu, "TARGET"),
                        f"TARGET {label!r} on {count} rows",
                    )
        ra, dec = column(hdu, "RAEP0"), column(hdu, "DECEP0")
        if ra is not None and dec is not None:
            for row, (alpha, delta) in enumerate(zip(ra, dec, strict=True), 1):
                if not (math.isfinite(alpha) and math.isfinite(delta)) or (alpha == 0 and delta == 0):
                    self.add(
                        "W-TARGET",
                        self.loc(index, "OI_TARGET", hdu, "RAEP0", row),
                        f"coordinates undefined or zero (RAEP0={alpha}, DECEP0={delta})",
                    )

    # --- per table ---------------------------------------------------------------------------------------------

    def _nwave(self, hdu: fits.BinTableHDU) -> int | None:
        return self.nwave.get(text(hdu.header.get("INSNAME")))

    def columns(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        rule = {"OI_FLUX": "W-FLUX", "OI_CORR": "I-CORR"}.get(name, "R-COLUMNS")
        present = {col.name.upper(): col for col in hdu.columns}
        nwave = self._nwave(hdu)
        for col_name, (kinds, repeat) in MANDATORY[name].items():
            if name == "OI_VIS" and col_name in ("VISPHI", "VISPHIERR") and col_name not in present:
                self.add(
                    "W-VIS", self.loc(index, name, hdu, col_name), f"mandatory column {col_name} missing"
                )
                continue
            if col_name not in present:
                self.add(rule, self.loc(index, name, hdu, col_name), f"mandatory column {col_name} missing")
                continue
            self._check_column(
                index, name, hdu, present[col_name], kinds, nwave if repeat == NWAVE else repeat, rule
            )
        if name == "OI_VIS":
            for col_name in ("VISAMP", "VISAMPERR"):
                if col_name not in present:
                    self.add("W-VIS", self.loc(index, name, hdu, col_name), f"column {col_name} missing")
                else:
                    self._check_column(index, name, hdu, present[col_name], FLOAT, nwave, rule)
        known = set(MANDATORY[name]) | set(OPTIONAL[name])
        unknown = [col for col in present if col not in known]
        if unknown:
            self.add("W-EXTRA", self.loc(index, name, hdu), f"unknown column(s): {', '.join(unknown)}")
        if name == "OI_TARGET" and "CATEGORY" in present and self.version == "v1":
            self.add("I-CATEGORY", self.loc(index, name, hdu, "CATEGORY"), "CATEGORY is a v2 column")

    def _check_column(
        self,
        index: int,
        name: str,
        hdu: fits.BinTableHDU,
        col: fits.Column,
        kinds: str,
        repeat: int | None,
        rule: str,
    ) -> None:
        where = self.loc(index, name, hdu, col.name)
        code = text(getattr(col.format, "format", "")).upper()
        count = int(getattr(col.format, "repeat", 1) or 1)
        if code not in kinds:
            self.add(rule, where, f"{col.name} has TFORM {col.format!s}, expected type {'/'.join(kinds)}")
            return
        if repeat is not None and code != "A" and count != repeat:
            self.add(rule, where, f"{col.name} has {count} element(s) per row, expected {repeat}")

    def data_table(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        header = hdu.header
        flux = name == FLUX_TABLE
        insname = text(header.get("INSNAME"))
        if not insname:
            self.add("R-INSNAME", self.loc(index, name, hdu), "INSNAME missing")
        elif self.insname_count[insname] == 0:
            self.add("R-INSNAME", self.loc(index, name, hdu), f"INSNAME {insname!r} matches no OI_WAVELENGTH")
        self._date_obs(index, name, hdu)
        arrname = text(header.get("ARRNAME"))
        calstat = text(header.get("CALSTAT")).upper()
        if flux:
            self._flux(index, name, hdu, arrname, calstat)
        elif not arrname and self.version == "v2":
            self.add("W-ARRAY", self.loc(index, name, hdu), "ARRNAME missing (required in v2)")
        if arrname and arrname not in self.arrays:
            self.add("W-ARRAY", self.loc(index, name, hdu), f"ARRNAME {arrname!r} matches no OI_ARRAY")
        n = rows(hdu)
        if n == 0:
            return
        ids = column(hdu, "TARGET_ID")
        if ids is not None and self.by_name.get("OI_TARGET"):
            unknown = sorted({int(value) for value in ids} - self.target_ids)
            if unknown:
                row = int(np.argmax(~np.isin(ids, list(self.target_ids)))) + 1
                self.add(
                    "R-TARGETREF",
                    self.loc(index, name, hdu, "TARGET_ID", row),
                    f"TARGET_ID(s) {unknown} absent from OI_TARGET",
                )
        stations = column(hdu, "STA_INDEX")
        if stations is not None and arrname in self.arrays:
            stations = stations.reshape(n, -1)
            missing = ~np.isin(stations, list(self.arrays[arrname]))
            if missing.any():
                row = int(np.argmax(missing.any(axis=1))) + 1
                values = sorted({int(v) for v in stations[missing]})
                self.add(
                    "W-ARRAY",
                    self.loc(index, name, hdu, "STA_INDEX", row),
                    f"STA_INDEX {values} not in OI_ARRAY {arrname!r}",
                )
            if stations.shape[1] > 1:
                dup = np.array([len(set(row)) != len(row) for row in stations.tolist()])
                if dup.any():
                    self.add(
                        "W-ARRAY",
                        self.loc(index, name, hdu, "STA_INDEX", int(np.argmax(dup)) + 1),
                        f"{dup.sum()} row(s) repeat a station",
                    )
        self._times(index, name, hdu, n)
        self._values(index, name, hdu)
        if name == "OI_VIS":
            self._vis(index, name, hdu)
        if text(header.get("CORRNAME")) and "OI_CORR" not in self.by_name:
            self.add("I-CORR", self.loc(index, name, hdu), "CORRNAME given but no OI_CORR table")

    def _date_obs(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        value = text(hdu.header.get("DATE-OBS"))
        where = self.loc(index, name, hdu)
        if not value:
            self.add("W-TIME", where, "DATE-OBS missing")
            return
        if not DATE_OBS.match(value):
            self.add("W-TIME", where, f"DATE-OBS {value!r} is not YYYY-MM-DD[Thh:mm:ss]")
            return
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            self.add("W-TIME", where, f"DATE-OBS {value!r} is not a date")
            return
        if not date(1933, 1, 1) <= day <= date(2150, 1, 1):
            self.add("W-TIME", where, f"DATE-OBS {value!r} outside 1933-2150")

    def _times(self, index: int, name: str, hdu: fits.BinTableHDU, n: int) -> None:
        mjd = column(hdu, "MJD")
        if mjd is not None:
            mjd = mjd.astype(float)
            bad = ~((mjd > MJD_MIN) & (mjd < MJD_MAX))
            if bad.any():
                row = int(np.argmax(bad)) + 1
                self.add(
                    "W-TIME",
                    self.loc(index, name, hdu, "MJD", row),
                    f"{bad.sum()} of {n} MJD value(s) not positive or outside 1933-2150 (first {mjd[row - 1]})",
                )
        int_time = column(hdu, "INT_TIME")
        if int_time is not None:
            bad = ~(int_time.astype(float) > 0)
            if bad.any():
                self.add(
                    "W-TIME",
                    self.loc(index, name, hdu, "INT_TIME", int(np.argmax(bad)) + 1),
                    f"{bad.sum()} INT_TIME value(s) not > 0",
                )
        time = column(hdu, "TIME")
        if time is not None and self.version == "v2" and name != FLUX_TABLE:
            time = time.astype(float)
            bad = np.isfinite(time) & (time != 0)
            if bad.any():
                self.add(
                    "W-TIME",
                    self.loc(index, name, hdu, "TIME", int(np.argmax(bad)) + 1),
                    f"{bad.sum()} TIME value(s) not 0 (TIME must be 0 in v2; MJD is the time)",
                )

    def _values(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        flag = column(hdu, "FLAG")
        n = rows(hdu)

        def good(values: np.ndarray) -> np.ndarray:
            values = values.reshape(n, -1)
            if flag is None:
                return np.ones(values.shape, dtype=bool)
            mask = flag.reshape(n, -1)
            return ~mask if mask.shape == values.shape else np.ones(values.shape, dtype=bool)

        def report(col: str, bad: np.ndarray, message: str) -> None:
            if bad.any():
                row = int(np.argmax(bad.any(axis=1))) + 1
                self.add("W-VALUES", self.loc(index, name, hdu, col, row), f"{bad.sum()} unflagged {message}")

        for col in ERROR_COLUMNS.get(name, ()):
            values = column(hdu, col)
            if values is not None and values.dtype.kind == "f":
                values = values.reshape(n, -1)
                report(col, (values < 0) & good(values), "negative error value(s)")
        if name == "OI_T3":
            amp, err = column(hdu, "T3AMP"), column(hdu, "T3AMPERR")
            if amp is not None and err is not None and amp.shape == err.shape and amp.dtype.kind == "f":
                amp, err = amp.reshape(n, -1), err.reshape(n, -1)
                with np.errstate(invalid="ignore"):
                    bad = (amp - 1 > err) & np.isfinite(err) & good(amp)
                report("T3AMP", bad, "point(s) with T3AMP - 1 > T3AMPERR (probably not normalised)")
        if name == "OI_VIS2":
            vis2 = column(hdu, "VIS2DATA")
            if vis2 is not None and vis2.dtype.kind == "f":
                vis2 = vis2.reshape(n, -1)
                with np.errstate(invalid="ignore"):
                    bad = ((vis2 < -0.1) | (vis2 > 1.1)) & good(vis2)
                report("VIS2DATA", bad, "VIS2DATA value(s) outside [-0.1, 1.1]")

    def _vis(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        header = hdu.header
        amptyp = text(header.get("AMPTYP")).lower()
        phityp = text(header.get("PHITYP")).lower()
        if amptyp and amptyp not in ("absolute", "differential", "correlated flux"):
            self.add("W-VIS", self.loc(index, name, hdu), f"AMPTYP={amptyp!r} is not a defined value")
        if phityp and phityp not in ("absolute", "differential"):
            self.add("W-VIS", self.loc(index, name, hdu), f"PHITYP={phityp!r} is not a defined value")
        if self.version == "v2":
            differential = "differential" in (amptyp, phityp)
            has_map = "VISREFMAP" in hdu.columns.names
            if differential and not has_map:
                self.add(
                    "W-VIS", self.loc(index, name, hdu), "AMPTYP or PHITYP differential without VISREFMAP"
                )
            if has_map and not differential:
                self.add(
                    "W-VIS",
                    self.loc(index, name, hdu, "VISREFMAP"),
                    "VISREFMAP without differential AMPTYP/PHITYP",
                )
        if amptyp == "correlated flux":
            for col in hdu.columns:
                if col.name in ("VISAMP", "VISAMPERR", "RVIS", "RVISERR", "IVIS", "IVISERR") and not text(
                    col.unit
                ):
                    self.add("W-UNITS", self.loc(index, name, hdu, col.name), "correlated flux without TUNIT")

    def _flux(self, index: int, name: str, hdu: fits.BinTableHDU, arrname: str, calstat: str) -> None:
        where = self.loc(index, name, hdu)
        has_sta = "STA_INDEX" in hdu.columns.names
        if calstat not in ("C", "U"):
            self.add("W-FLUX", where, f"CALSTAT={calstat or '(absent)'!r}, expected 'C' or 'U'")
        elif calstat == "C":
            if arrname or has_sta:
                self.add("W-FLUX", where, "calibrated flux (CALSTAT='C') with ARRNAME or STA_INDEX")
        else:
            if not arrname or not has_sta:
                self.add("W-FLUX", where, "uncalibrated flux (CALSTAT='U') without ARRNAME or STA_INDEX")
            if "FOVTYPE" in hdu.header:
                self.add("W-FLUX", where, "uncalibrated flux (CALSTAT='U') with FOVTYPE")
        for col in hdu.columns:
            if col.name in ("FLUXDATA", "FLUXERR") and not text(col.unit):
                self.add("W-UNITS", self.loc(index, name, hdu, col.name), f"{col.name} without TUNIT")

    def inspol(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        names = column(hdu, "INSNAME")
        if names is None:
            return
        for row, value in enumerate(names, 1):
            insname = text(value)
            if self.insname_count[insname] == 0:
                self.add(
                    "R-INSNAME",
                    self.loc(index, name, hdu, "INSNAME", row),
                    f"INSNAME {insname!r} matches no OI_WAVELENGTH",
                )
                break

    def corr(self, index: int, name: str, hdu: fits.BinTableHDU) -> None:
        ndata = hdu.header.get("NDATA")
        if not isinstance(ndata, int | np.integer):
            self.add("I-CORR", self.loc(index, name, hdu), "NDATA missing")
            return
        i, j = column(hdu, "IINDX"), column(hdu, "JINDX")
        if i is not None and j is not None:
            bad = (i < 1) | (j <= i) | (j > ndata)
            if bad.any():
                self.add(
                    "I-CORR",
                    self.loc(index, name, hdu, "IINDX", int(np.argmax(bad)) + 1),
                    f"{bad.sum()} bad index pair(s)",
                )


def _verdict(findings: Iterable[Finding]) -> Verdict:
    severities = {finding.severity for finding in findings}
    return (
        "invalid" if "error" in severities else "valid-with-warnings" if "warning" in severities else "valid"
    )


def check(hdus: fits.HDUList) -> Report:
    """Validate an open HDU list (see :func:`validate`)."""
    checker = _Checker(hdus)
    try:
        checker.run()
    except Exception as exc:  # bad bytes inside a table (short data, broken TFORM): a rejection, not a crash
        checker.add("R-FITS", "file", f"unreadable content: {type(exc).__name__}: {exc}")
    return Report(checker.version, _verdict(checker.findings), checker.findings)


def validate(source: Source) -> Report:
    """Validate an OIFITS file given as bytes or a path. Never raises on bad bytes."""
    try:
        hdus = open_oifits(source)
    except Unreadable as exc:
        finding = Finding("R-FITS", "error", "file", str(exc))
        return Report(None, "invalid", [finding])
    with hdus:
        return check(hdus)


PROFILES = ("archive", "drs")


def strict(report: Report, header: fits.Header) -> Report:
    """The strict "drs" profile of §6 for files the SPICA pipeline writes: every warning refuses the file,
    and the §7.4 keywords are required (R-DRS). It catches pipeline regressions at the boundary while
    archive and legacy files stay ingestible under the lenient profile."""
    findings = [
        Finding(f.rule, "error", f.location, f"{f.message} (refused by the drs profile)")
        if f.severity == "warning"
        else f
        for f in report.findings
    ]
    missing = [key.removeprefix("HIERARCH ") for key in DRS_KEYWORDS if header.get(key) in (None, "")]
    if missing:
        findings.append(Finding("R-DRS", "error", "HDU 0", f"DRS keywords missing: {', '.join(missing)}"))
    return Report(report.version, _verdict(findings), findings)
