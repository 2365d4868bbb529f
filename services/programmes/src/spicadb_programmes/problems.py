"""The programmes service's problem types (beside the kit's)."""

from __future__ import annotations

from spicadb_kit.problems import Catalogue, ProblemType

# a name the body refers to that does not exist is a 422 where the path's is a 404 (same type)
BODY = (422,)

NOT_ADMIN = ProblemType.http(
    403, "not-admin", "Only an admin may do this (another PI's programme, a TAC decision)"
)
NOT_AN_EDITOR = ProblemType.http(403, "not-an-editor", "Only the PI and co-investigators change a programme")
NOT_THE_PI = ProblemType.http(403, "not-the-pi", "Only the programme's PI or an admin may do this")
PROGRAMME_NOT_FOUND = ProblemType.http(
    404, "programme-not-found", "No programme the caller may see has this code"
)
MEMBER_NOT_FOUND = ProblemType.http(404, "member-not-found", "The user is not a member of the programme")
PROPOSAL_NOT_FOUND = ProblemType.http(
    404, "proposal-not-found", "The programme has no proposal for this period"
)
WORK_PACKAGE_NOT_FOUND = ProblemType.http(
    404, "work-package-not-found", "The programme has no work package of this code", BODY
)
SETUP_NOT_FOUND = ProblemType.http(404, "setup-not-found", "The programme has no setup of this name", BODY)
TARGET_NOT_FOUND = ProblemType.http(404, "target-not-found", "The programme has no target of this id", BODY)
REQUEST_NOT_FOUND = ProblemType.http(
    404, "request-not-found", "The programme has no observation request of this id"
)
PROGRAMME_EXISTS = ProblemType.http(409, "programme-exists", "A programme of this code exists already")
PROPOSAL_EXISTS = ProblemType.http(
    409, "proposal-exists", "The programme has a proposal for this period already"
)
INVALID_TRANSITION = ProblemType.http(
    409,
    "invalid-transition",
    "The proposal cannot move to this status from its own (the allowed ones listed)",
)
WORK_PACKAGE_EXISTS = ProblemType.http(
    409, "work-package-exists", "The programme has a work package of this code"
)
SETUP_EXISTS = ProblemType.http(409, "setup-exists", "The programme has a setup of this name already")
SETUP_IN_USE = ProblemType.http(409, "setup-in-use", "The setup has observation requests: delete them first")
REQUEST_EXISTS = ProblemType.http(409, "request-exists", "The target already has a request with this setup")
DUPLICATE_TARGET = ProblemType.http(
    409, "duplicate-target", "A target of this name (or this position) exists"
)
TOO_MANY_TARGETS = ProblemType.http(
    413, "too-many-targets", "More targets in one import than the service takes"
)
ONE_PI = ProblemType.http(422, "one-pi", "A programme has one PI, named in `pi`")
PI_NOT_A_MEMBER_ROLE = ProblemType.http(
    422, "pi-not-a-member-role", "The PI's role is not changed through the members list"
)
PI_NOT_REMOVABLE = ProblemType.http(422, "pi-not-removable", "The PI cannot be removed from their programme")
TOO_MANY_MEMBERS = ProblemType.http(
    422, "too-many-members", "The programme would have more members than allowed"
)
USERNAME_MISMATCH = ProblemType.http(422, "username-mismatch", "The body names another user than the path")
INVALID_CONFIGURATION = ProblemType.http(
    422, "invalid-configuration", "The setup's configuration is not one of the array's"
)
INVALID_TARGET = ProblemType.http(422, "invalid-target", "The target breaks a rule (the field is named)")
INVALID_TARGET_LIST = ProblemType.http(
    422,
    "invalid-target-list",
    "The target list cannot be read as a whole, or rows of it are wrong (named in `errors`): nothing was imported",
)
EMPTY_TARGET_LIST = ProblemType.http(422, "empty-target-list", "The target list has no rows")

CATALOGUE = Catalogue.of(vars())
