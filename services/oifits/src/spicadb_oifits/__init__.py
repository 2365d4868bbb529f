"""SPICA-DB oifits service: reduced OIFITS files from the DRS, validated and indexed into ObsCore granules.

- :mod:`spicadb_oifits.validation`: the lenient "archive" validation profile (oifits.md §2-§6), walking the
  rule table of :mod:`spicadb_oifits.rules` and summing with :mod:`spicadb_oifits.checksum`;
- :mod:`spicadb_oifits.granules`: one ObsCore granule per target x INSNAME x night (oifits.md §7, with the
  local-noon night of §7.8 instead of OiDB's round(MJD)); ``granules.index`` validates and extracts in one read;
- :mod:`spicadb_oifits.reader`: opening bytes or a path without raising on bad bytes.

The HTTP service (upload, storage, links to observations) comes later and uses these as a library.
"""
