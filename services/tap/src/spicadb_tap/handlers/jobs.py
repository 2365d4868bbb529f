"""TAP's async endpoint, UWS 1.1: ``/tap/async`` (the caller's jobs; POST creates one) and each job's
resources. No token needed: an anonymous job sees released rows only and is reached by its id alone.
A token is verified when sent; creating a job with one needs ``tap:query``, and such a job is its
owner's alone (anyone else gets 404, as if it did not exist). IVOA parameter names are read in any
case, from the query string and the body (a form, or multipart with UPLOAD's inline tables)."""

from __future__ import annotations

from typing import Any

from litestar import HttpMethod, Request, Response, Router, delete, post, route
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import FromPath
from litestar.response import File

from spicadb_kit.auth import Principal
from spicadb_kit.errors import FieldError
from spicadb_kit.openapi import answers, form, problem_responses, takes
from spicadb_kit.problems import INSUFFICIENT_SCOPE, REQUEST_ENTITY_TOO_LARGE, VALIDATION
from spicadb_kit.rights import Viewer, request_principal

from ..problems import JOB_NO_RESULT
from ..state import TapContext
from ..uws import jobs_of
from ..uws.documents import MEDIA_TYPE as XML
from ..uws.documents import job_document, job_list, parameters_document, results_document
from ..uws.model import Job, Phase, iso
from ..uws.service import JobService
from .forms import BadForm, read_form

ANONYMOUS = {"anonymous": True}
BASE = "/tap/async"
SCOPE = "tap:query"
TEXT = "text/plain"
VOTABLE = "application/x-votable+xml"
# the result's media types (RESPONSEFORMAT)
RESULT_TYPES = (VOTABLE, "text/csv", "text/tab-separated-values", "application/json")
READ = [HttpMethod.GET, HttpMethod.HEAD]

_TEXT = Schema(type=OpenAPIType.STRING)
# the TAP parameters a job takes (names in any case); with UPLOAD's inline tables as multipart parts
TAP_FIELDS = {
    "LANG": Schema(type=OpenAPIType.STRING, description="ADQL"),
    "QUERY": Schema(type=OpenAPIType.STRING, description="the ADQL query"),
    "MAXREC": Schema(type=OpenAPIType.INTEGER, minimum=0, description="the most rows of the result"),
    "RESPONSEFORMAT": Schema(
        type=OpenAPIType.STRING, description="votable (TABLEDATA), votable/b2, csv, tsv, json (alias FORMAT)"
    ),
    "UPLOAD": Schema(
        type=OpenAPIType.STRING,
        description="name,URI pairs separated by ';' (param:<part> for a part of the body)",
    ),
    "RUNID": Schema(type=OpenAPIType.STRING, description="the client's label of the job"),
}
CREATE_FIELDS = {
    **TAP_FIELDS,
    "PHASE": Schema(type=OpenAPIType.STRING, enum=["RUN"], description="RUN: queue the job at once"),
    "EXECUTIONDURATION": Schema(type=OpenAPIType.INTEGER, description="seconds (bounded by the service)"),
    "DESTRUCTION": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
}
_PART = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="an inline UPLOAD VOTable")


def _takes(fields: dict[str, Schema], description: str) -> dict[str, Any]:
    multipart = Schema(
        type=OpenAPIType.OBJECT, properties=dict(fields), additional_properties=_PART, description=description
    )
    return takes(
        {"application/x-www-form-urlencoded": form(fields), "multipart/form-data": multipart},
        description,
        required=False,
    )


def _one(name: str, schema: Schema, description: str) -> dict[str, Any]:
    return takes({"application/x-www-form-urlencoded": form({name: schema}, required=(name,))}, description)


SEE_OTHER = {
    303: ResponseSpec(None, description="See Other: the job (or the job list) at Location"),
    **problem_responses(401),
}
# a token is verified when sent (the job's owner): a bad one is a 401 on every route
CHECKED = problem_responses(401)


# --- who asks ------------------------------------------------------------------------------------


class Caller:
    """Who sends the request: a verified token's principal, or None (anonymous)."""

    def __init__(self, principal: Principal | None) -> None:
        self.principal = principal


async def provide_caller(request: Request[Any, Any, Any], context: NamedDependency[TapContext]) -> Caller:
    return Caller(await request_principal(request, context))


def provide_jobs(caller: NamedDependency[Caller], context: NamedDependency[TapContext]) -> JobService:
    viewer = Viewer.of(caller.principal, context.settings.trusted())
    return JobService(context.pool, context.settings, jobs_of(context).watch, viewer)


DEPENDENCIES = {"caller": Provide(provide_caller), "jobs": Provide(provide_jobs, sync_to_thread=False)}


# --- reading parameters ----------------------------------------------------------------------------


class Given:
    """A request's IVOA parameters (names upper case, FORMAT as RESPONSEFORMAT; the last value of a
    name wins, but every PHASE is kept for a listing) and its multipart parts, by name."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.phases: list[str] = []
        self.parts: dict[str, bytes] = {}

    def add(self, name: str, value: str) -> None:
        key = name.upper()
        key = "RESPONSEFORMAT" if key == "FORMAT" else key
        self.values[key] = value
        if key == "PHASE":
            self.phases.append(value)


async def _given(request: Request[Any, Any, Any], max_bytes: int = 0) -> Given:
    given = Given()
    for name, value in request.query_params.multi_items():
        given.add(name, value)
    if request.method != HttpMethod.POST:
        return given
    total = 0
    try:
        body = await read_form(request)
    except BadForm as exc:
        raise VALIDATION(str(exc), errors=[FieldError("body", str(exc))]) from exc
    for name, value in body.multi_items():
        if isinstance(value, UploadFile):
            content = await value.read()
            total += len(content)
            if total > max_bytes:
                raise REQUEST_ENTITY_TOO_LARGE(f"the uploads are larger than {max_bytes} bytes")
            given.parts[name] = content
        else:
            given.add(name, value)
            given.parts.setdefault(name, value.encode())  # a client sending an upload as a plain field
    return given


def _xml(request: Request[Any, Any, Any], document: bytes) -> Response[bytes]:
    return Response(b"" if request.method == HttpMethod.HEAD else document, media_type=XML)


def _text(request: Request[Any, Any, Any], text: str) -> Response[bytes]:
    body = b"" if request.method == HttpMethod.HEAD else text.encode()
    return Response(body, media_type=TEXT)


def _base(jobs: JobService) -> str:
    """The async endpoint's URL where users reach it (the platform's public URL): taplint follows only
    absolute Locations, and the documents' links say the same."""
    return jobs.settings.public_url.rstrip("/") + BASE


def _see(jobs: JobService, path: str = "") -> Response[bytes]:
    return Response(b"", status_code=303, headers={"Location": _base(jobs) + path})


def _job(request: Request[Any, Any, Any], jobs: JobService, job: Job) -> Response[bytes]:
    return _xml(request, job_document(job, _base(jobs)))


# --- the job list ----------------------------------------------------------------------------------


@route(
    BASE,
    http_method=READ,
    opt={**ANONYMOUS, **answers(XML)},
    operation_id=lambda _h, m, _p: "listJobs" if m == HttpMethod.GET else "listJobsHead",
    tags=["async"],
    responses=CHECKED,
)
async def list_jobs(request: Request[Any, Any, Any], jobs: NamedDependency[JobService]) -> Response[bytes]:
    """The caller's jobs (UWS job list), newest first: ``PHASE`` (repeatable) keeps jobs in those
    phases, ``AFTER`` (ISO 8601) those created after it, ``LAST`` the n newest. Anonymous callers have
    no list (their jobs are reached by id)."""
    given = await _given(request)
    found = await jobs.listing(given.phases, given.values.get("AFTER"), given.values.get("LAST"))
    return _xml(request, job_list(found, _base(jobs)))


@post(
    BASE,
    opt={**ANONYMOUS, **_takes(CREATE_FIELDS, "the job's TAP parameters (and UPLOAD's inline tables)")},
    operation_id="createJob",
    tags=["async"],
    status_code=303,
    responses={**SEE_OTHER, **problem_responses(403, 413)},
)
async def create_job(
    request: Request[Any, Any, Any], jobs: NamedDependency[JobService], caller: NamedDependency[Caller]
) -> Response[bytes]:
    """A new job (PENDING; QUEUED at once with ``PHASE=RUN``), answered 303 to its URL. A caller with a
    token needs the scope ``tap:query``; the job is then theirs alone."""
    if caller.principal is not None and not caller.principal.has(SCOPE):
        raise INSUFFICIENT_SCOPE(f"creating an async job needs the scope {SCOPE}", required=[SCOPE])
    given = await _given(request, jobs.settings.upload_max_bytes)
    job = await jobs.create(given.values, given.parts)
    return _see(jobs, f"/{job.id}")


# --- one job ---------------------------------------------------------------------------------------


def _read(name: str, path: str = "", **extra: Any) -> route:
    """A GET/HEAD route of a job (``{BASE}/{job_id}{path}``) with one operation id per method."""
    return route(
        f"{BASE}/{{job_id:str}}{path}",
        http_method=READ,
        opt={**ANONYMOUS, **extra.pop("opt", {})},
        operation_id=lambda _h, m, _p: name if m == HttpMethod.GET else f"{name}Head",
        tags=["async"],
        responses={**CHECKED, **extra.pop("responses", {})},
        **extra,
    )


@_read("getJob", opt=answers(XML))
async def get_job(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The job (UWS 1.1 job document). ``WAIT=n`` blocks until its phase changes or n seconds pass (at
    most 60; -1: 60), only while it is PENDING, QUEUED or EXECUTING (and, with ``PHASE=p``, in p)."""
    given = await _given(request)
    wait = given.values.get("WAIT")
    if wait is None:
        return _job(request, jobs, await jobs.get(job_id))
    try:
        seconds = float(wait)
    except ValueError:
        seconds = -1.0
    return _job(request, jobs, await jobs.wait(job_id, seconds, given.values.get("PHASE")))


@post(
    f"{BASE}/{{job_id:str}}",
    opt={**ANONYMOUS, **_one("ACTION", Schema(type=OpenAPIType.STRING, enum=["DELETE"]), "ACTION=DELETE")},
    operation_id="postJob",
    tags=["async"],
    status_code=303,
    responses=SEE_OTHER,
)
async def post_job(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """``ACTION=DELETE``: delete the job (303 to the job list)."""
    given = await _given(request)
    if given.values.get("ACTION", "").upper() != "DELETE":
        raise VALIDATION("ACTION must be DELETE", errors=[FieldError("ACTION", "must be DELETE")])
    await jobs.delete(job_id)
    return _see(jobs)


@delete(
    f"{BASE}/{{job_id:str}}",
    opt=ANONYMOUS,
    operation_id="deleteJob",
    tags=["async"],
    status_code=303,
    responses=SEE_OTHER,
)
async def delete_job(job_id: FromPath[str], jobs: NamedDependency[JobService]) -> Response[bytes]:
    """Delete the job, its uploads and its result (its execution stopped); 303 to the job list."""
    await jobs.delete(job_id)
    return _see(jobs)


@_read("getJobPhase", "/phase", opt=answers(TEXT))
async def get_phase(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The job's phase, as text."""
    return _text(request, str((await jobs.get(job_id)).phase))


@post(
    f"{BASE}/{{job_id:str}}/phase",
    opt={
        **ANONYMOUS,
        **_one("PHASE", Schema(type=OpenAPIType.STRING, enum=["RUN", "ABORT"]), "PHASE=RUN or ABORT"),
    },
    operation_id="postJobPhase",
    tags=["async"],
    status_code=303,
    responses={**SEE_OTHER, **problem_responses(409)},
)
async def post_phase(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """``PHASE=RUN`` queues a PENDING job (again while it runs: nothing; an ended job: 409);
    ``PHASE=ABORT`` stops a job not yet ended (ABORTED). 303 to the job."""
    given = await _given(request)
    await jobs.set_phase(job_id, given.values.get("PHASE", ""))
    return _see(jobs, f"/{job_id}")


@_read("getJobParameters", "/parameters", opt=answers(XML))
async def get_parameters(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The job's parameters (UWS parameters document)."""
    return _xml(request, parameters_document(await jobs.get(job_id)))


@post(
    f"{BASE}/{{job_id:str}}/parameters",
    opt={**ANONYMOUS, **_takes(TAP_FIELDS, "the TAP parameters to change (and UPLOAD's inline tables)")},
    operation_id="postJobParameters",
    tags=["async"],
    status_code=303,
    responses={**SEE_OTHER, **problem_responses(409, 413)},
)
async def post_parameters(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """Change the job's TAP parameters: only while it is PENDING (409 otherwise); RUNID at any time.
    303 to the job."""
    given = await _given(request, jobs.settings.upload_max_bytes)
    await jobs.update_parameters(job_id, given.values, given.parts)
    return _see(jobs, f"/{job_id}")


@_read("getJobResults", "/results", opt=answers(XML))
async def get_results(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The job's results (UWS results document): ``result`` once it is COMPLETED."""
    return _xml(request, results_document(await jobs.get(job_id), _base(jobs)))


@_read(
    "getJobResult",
    "/results/result",
    opt=answers(*RESULT_TYPES),
)
async def get_result(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The job's result, streamed from its file in the format asked (RESPONSEFORMAT); 404 until the
    job is COMPLETED."""
    job = await jobs.get(job_id)
    path = jobs.result_path(job)
    if path is None or not path.is_file():
        raise JOB_NO_RESULT(f"job {job_id} is {job.phase}: it has no result")
    return File(
        path,
        media_type=job.result_media_type or VOTABLE,
        filename=path.name,
        content_disposition_type="inline",
    )


@_read("getJobError", "/error", opt=answers(VOTABLE))
async def get_error(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """Why the job failed: a VOTable error document (QUERY_STATUS=ERROR), 200; 404 when the job is not
    in ERROR."""
    from ..results import error_document

    job = await jobs.get(job_id)
    if job.phase is not Phase.ERROR:
        raise JOB_NO_RESULT(f"job {job_id} is {job.phase}: it has no error")
    document = error_document(job.error_summary or "the job failed")
    return Response(b"" if request.method == HttpMethod.HEAD else document, media_type=VOTABLE)


@_read("getJobQuote", "/quote", opt=answers(TEXT))
async def get_quote(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """When the job is expected to end (ISO 8601), or nothing when the service cannot tell."""
    job = await jobs.get(job_id)
    return _text(request, iso(job.quote) if job.quote else "")


@_read("getJobExecutionDuration", "/executionduration", opt=answers(TEXT))
async def get_execution_duration(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """The seconds the job may execute (past them it ends in ERROR)."""
    return _text(request, str((await jobs.get(job_id)).execution_duration))


@post(
    f"{BASE}/{{job_id:str}}/executionduration",
    opt={**ANONYMOUS, **_one("EXECUTIONDURATION", Schema(type=OpenAPIType.INTEGER), "seconds")},
    operation_id="postJobExecutionDuration",
    tags=["async"],
    status_code=303,
    responses={**SEE_OTHER, **problem_responses(409)},
)
async def post_execution_duration(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """Ask another execution duration (seconds; 0, less, or more than the service's most: the most),
    while the job is PENDING. 303 to the job."""
    given = await _given(request)
    await jobs.set_execution_duration(job_id, given.values.get("EXECUTIONDURATION", ""))
    return _see(jobs, f"/{job_id}")


@_read("getJobDestruction", "/destruction", opt=answers(TEXT))
async def get_destruction(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """When the job and its result will be deleted (ISO 8601)."""
    return _text(request, iso((await jobs.get(job_id)).destruction))


@post(
    f"{BASE}/{{job_id:str}}/destruction",
    opt={
        **ANONYMOUS,
        **_one(
            "DESTRUCTION", Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME), "an ISO 8601 time"
        ),
    },
    operation_id="postJobDestruction",
    tags=["async"],
    status_code=303,
    responses=SEE_OTHER,
)
async def post_destruction(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """Ask another destruction time (no later than the service's most after the job's creation). 303 to
    the job."""
    given = await _given(request)
    await jobs.set_destruction(job_id, given.values.get("DESTRUCTION", ""))
    return _see(jobs, f"/{job_id}")


@_read("getJobOwner", "/owner", opt=answers(TEXT))
async def get_owner(
    request: Request[Any, Any, Any], job_id: FromPath[str], jobs: NamedDependency[JobService]
) -> Response[bytes]:
    """Who created the job (their user name; nothing for an anonymous job). UWS lets no one change it."""
    return _text(request, (await jobs.get(job_id)).owner or "")


HANDLERS = [
    list_jobs,
    create_job,
    get_job,
    post_job,
    delete_job,
    get_phase,
    post_phase,
    get_parameters,
    post_parameters,
    get_results,
    get_result,
    get_error,
    get_quote,
    get_execution_duration,
    post_execution_duration,
    get_destruction,
    post_destruction,
    get_owner,
]
# one router: the handlers' dependencies (the caller, the job service) without touching app.py's
ROUTES: list[Any] = [Router(path="/", route_handlers=HANDLERS, dependencies=DEPENDENCIES)]
