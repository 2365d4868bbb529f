"""The bounds of every value that travels in an event, named once.

An event is one NATS message, and a message larger than the server's ``max_payload`` (1 MiB) is refused
and blocks its producer's relay. So every string, list and mapping a payload carries has a maximum, and
every producer validates its input against the same maximum before it writes the event: the caller gets a
422 naming the field instead of an event that can never be published. Services build their request models
from the aliases below (adding ``min_length`` or a pattern of their own where they need one), so the
OpenAPI documents and the event schemas state the same numbers.

Lengths are in characters (code points), as msgspec and JSON Schema count them. A character takes at
most 6 bytes in a JSON document (a control character is written ``\\u001f``), 4 when the value cannot
hold control characters (``NO_CONTROL``): the size test of the contracts builds the largest event of
each type with that arithmetic (tests/contracts/test_contracts_bounds.py).

Numbers get the ranges of their domain (right ascension 0..360, declination -90..90, ...) or at least
``Finite`` (NaN and infinities are not JSON: msgspec writes them as null, which no consumer decodes).
"""

from __future__ import annotations

import sys
from typing import Annotated

from msgspec import Meta

# The largest NATS message the platform's server accepts (its default max_payload), headers included.
NATS_MAX_PAYLOAD = 1024 * 1024
# What the CloudEvents headers (ce-id, ce-type, ce-source, ce-subject, ce-time, ce-aggregateversion,
# traceparent, Nats-Msg-Id, ...) may take of it; a payload must fit in the rest.
HEADERS_BUDGET = 16 * 1024
EVENT_PAYLOAD_LIMIT = NATS_MAX_PAYLOAD - HEADERS_BUDGET

# Lengths of strings --------------------------------------------------------------------------------------

# A word of a fixed vocabulary, in ASCII: SPICA mode, station, status, level, reason, kind, role.
KEYWORD_LENGTH = 32
# A programme or work-package code (the programmes service's pattern allows 40 characters).
CODE_LENGTH = 40
# A catalogue identifier of a target (HD, HIP, 2MASS, Gaia numbers), a spectral or object type.
CATALOGUE_ID_LENGTH = 40
# A machine identifier: user name (possibly an e-mail address from an upstream provider), client id,
# account role, scope, site, DRS product id, token id, a programme named by another service's input.
IDENTIFIER_LENGTH = 128
# A name a person gives: target name, calibrator, programme or proposal title, instrument name.
NAME_LENGTH = 200
# A file name (no directory), as most file systems allow.
FILENAME_LENGTH = 255
# A short free text: a value copied from a FITS header card (68 characters in one card, more with
# CONTINUE), a period, a kind.
SHORT_TEXT_LENGTH = 256
# A comment or description written by a person (a night log's comments cell, a flag's comment).
COMMENT_LENGTH = 4000
# A URL given by a client (a redirect URI).
URL_LENGTH = 2048
# A link a service builds to itself (a download, a quick-look plot).
LINK_LENGTH = 512
# A hexadecimal digest (sha256: 64, md5: 32).
DIGEST_LENGTH = 64

# Lengths of lists ----------------------------------------------------------------------------------------

# Roles, scopes, grant types, quality reasons, changed field names: a handful from a fixed catalogue.
FEW_ITEMS = 32
# Redirect URIs of one client.
REDIRECT_URIS = 16
# Stations of one observation or configuration (CHARA has 6 telescopes).
STATIONS = 8
# Station pairs of one observation: 6 telescopes give 15 (room for 8 telescopes: 28).
BASELINES = 28
# Calibrators planned with one science observation.
CALIBRATORS = 8
# Raw files written for one observation.
RAW_FILES = 64
# Observations in one night's plan (a night holds a few dozen).
PLANNED_OBSERVATIONS = 100
# SPICA lines (observations) one CHARA night log may hold; ``log.ingested`` lists the ids it added and
# changed (together at most this many) and withdrew (at most the previous version's).
LOG_OBSERVATIONS = 10_000
# Members of one programme.
MEMBERS = 500
# Extra catalogue identifiers of one target (HD, HIP, 2MASS, Gaia, ...).
TARGET_IDENTIFIERS = 8
# Targets in one ``programmes.targets.imported`` batch (an import of more is split in batches): the
# most that fit in one event when every value is at its bound.
TARGETS_PER_BATCH = 250
# Granules of one OIFITS file (target x INSNAME x night), previews of one granule, observations linked
# to one granule, and rule ids of one refusal.
GRANULES = 40
PREVIEWS = 4
LINKED_OBSERVATIONS = 100
RULES = 200

# Values --------------------------------------------------------------------------------------------------

# No control character (C0 and DEL): names, identifiers and header values are one line of printable text.
# ``(?![\s\S])`` pins the true end: Python's ``$`` (msgspec runs ``re.search``) also matches before a
# final line break; ECMA-262's (JSON Schema's) does not, and the lookahead is the same there.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$(?![\s\S])"

# Printable ASCII only.
ASCII = r"^[\x20-\x7e]*$(?![\s\S])"

Keyword = Annotated[str, Meta(max_length=KEYWORD_LENGTH, pattern=ASCII)]
Code = Annotated[str, Meta(max_length=CODE_LENGTH, pattern=NO_CONTROL)]
CatalogueId = Annotated[str, Meta(max_length=CATALOGUE_ID_LENGTH, pattern=NO_CONTROL)]
Identifier = Annotated[str, Meta(max_length=IDENTIFIER_LENGTH, pattern=NO_CONTROL)]
Name = Annotated[str, Meta(max_length=NAME_LENGTH, pattern=NO_CONTROL)]
FileName = Annotated[str, Meta(max_length=FILENAME_LENGTH, pattern=NO_CONTROL)]
ShortText = Annotated[str, Meta(max_length=SHORT_TEXT_LENGTH, pattern=NO_CONTROL)]
# Comments may hold line breaks and tabs.
Comment = Annotated[str, Meta(max_length=COMMENT_LENGTH)]
Url = Annotated[str, Meta(max_length=URL_LENGTH, pattern=NO_CONTROL)]
Link = Annotated[str, Meta(max_length=LINK_LENGTH, pattern=NO_CONTROL)]
Digest = Annotated[str, Meta(max_length=DIGEST_LENGTH, pattern=r"^[0-9a-f]*$(?![\s\S])")]

Finite = Annotated[float, Meta(ge=-sys.float_info.max, le=sys.float_info.max)]
# ICRS degrees
RightAscension = Annotated[float, Meta(ge=0.0, le=360.0)]
Declination = Annotated[float, Meta(ge=-90.0, le=90.0)]
# Proper motions (mas/yr; pmra is mu_alpha*), parallax (mas), epoch (Julian year), as the target lists
# check them
ProperMotion = Annotated[float, Meta(ge=-20_000.0, le=20_000.0)]
Parallax = Annotated[float, Meta(ge=-100.0, le=1000.0)]
Epoch = Annotated[float, Meta(ge=1900.0, le=2100.0)]
# Modified Julian Date: 1858-11-17 .. 2132-08-31
Mjd = Annotated[float, Meta(ge=0.0, le=100_000.0)]
# A proprietary period in months (the programmes service allows 0 to 10 years).
Months = Annotated[int, Meta(ge=0, le=120)]
# A count or a size (never negative), and an ordinal (1, 2, ...).
Count = Annotated[int, Meta(ge=0)]
Ordinal = Annotated[int, Meta(ge=1)]

__all__ = [
    "ASCII",
    "BASELINES",
    "CALIBRATORS",
    "CATALOGUE_ID_LENGTH",
    "CODE_LENGTH",
    "COMMENT_LENGTH",
    "DIGEST_LENGTH",
    "EVENT_PAYLOAD_LIMIT",
    "FEW_ITEMS",
    "FILENAME_LENGTH",
    "GRANULES",
    "HEADERS_BUDGET",
    "IDENTIFIER_LENGTH",
    "KEYWORD_LENGTH",
    "LINKED_OBSERVATIONS",
    "LINK_LENGTH",
    "LOG_OBSERVATIONS",
    "MEMBERS",
    "NAME_LENGTH",
    "NATS_MAX_PAYLOAD",
    "NO_CONTROL",
    "PLANNED_OBSERVATIONS",
    "PREVIEWS",
    "RAW_FILES",
    "REDIRECT_URIS",
    "RULES",
    "SHORT_TEXT_LENGTH",
    "STATIONS",
    "TARGETS_PER_BATCH",
    "TARGET_IDENTIFIERS",
    "URL_LENGTH",
    "CatalogueId",
    "Code",
    "Comment",
    "Count",
    "Declination",
    "Digest",
    "Epoch",
    "FileName",
    "Finite",
    "Identifier",
    "Keyword",
    "Link",
    "Mjd",
    "Months",
    "Name",
    "Ordinal",
    "Parallax",
    "ProperMotion",
    "RightAscension",
    "ShortText",
    "Url",
]
