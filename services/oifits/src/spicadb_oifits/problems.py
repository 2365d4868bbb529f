"""The oifits service's problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

UPLOAD_INCOMPLETE = ProblemType.http(
    400, "upload-incomplete", "The upload ended before the bytes it announced: nothing was kept"
)
FILE_NOT_FOUND = ProblemType.http(404, "file-not-found", "No file the caller may see has this id")
GRANULE_NOT_FOUND = ProblemType.http(404, "granule-not-found", "No granule the caller may see has this id")
PREVIEW_NOT_FOUND = ProblemType.http(
    404, "preview-not-found", "The granule has no quick-look plot of this kind"
)
REJECTION_NOT_FOUND = ProblemType.http(404, "rejection-not-found", "No rejected push has this id")
FILE_TOO_LARGE = ProblemType.http(413, "file-too-large", "The file is larger than this service takes")
RANGE_NOT_SATISFIABLE = ProblemType.http(
    416, "range-not-satisfiable", "The Range asked for lies outside the file (its size in Content-Range)"
)
INVALID_OIFITS = ProblemType.http(
    422, "invalid-oifits", "The file breaks OIFITS rules: only its validation report is kept (in `report`)"
)
BAD_PUSH = ProblemType.http(422, "bad-push", "The push's parameters are not right (named in `errors`)")
UNKNOWN_PROGRAMME = ProblemType.http(422, "unknown-programme", "No programme of this code is known here")
INSUFFICIENT_STORAGE = ProblemType.http(
    507,
    "insufficient-storage",
    "The file store has no room for the file or its plots: nothing was kept (no part, no row, no event);"
    " push it again once space is freed",
)

CATALOGUE = Catalogue.of(vars())
