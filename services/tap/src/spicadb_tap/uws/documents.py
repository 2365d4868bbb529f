"""UWS 1.1 documents: a job, the job list, a job's results and parameters (namespace UWS/v1.0, which
UWS 1.1 keeps, with version="1.1")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from .model import Job, Phase, iso

UWS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MEDIA_TYPE = "text/xml"
VERSION = "1.1"

for _prefix, _uri in (("uws", UWS), ("xlink", XLINK), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)


def _tag(name: str) -> str:
    return f"{{{UWS}}}{name}"


def _text(parent: ET.Element, name: str, value: str | None) -> ET.Element:
    """A child element with this text, nil (xsi:nil) when None."""
    element = ET.SubElement(parent, _tag(name))
    if value is None:
        element.set(f"{{{XSI}}}nil", "true")
    else:
        element.text = value
    return element


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def _bytes(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def job_url(base: str, job: Job) -> str:
    """A job's URL under the async endpoint's (``<public URL>/tap/async``)."""
    return f"{base}/{job.id}"


def _results(parent: ET.Element, job: Job, base: str) -> None:
    results = ET.SubElement(parent, _tag("results"))
    if job.phase is Phase.COMPLETED and job.result_file:
        result = ET.SubElement(results, _tag("result"), {"id": "result"})
        result.set(f"{{{XLINK}}}type", "simple")
        result.set(f"{{{XLINK}}}href", f"{job_url(base, job)}/results/result")
        if job.result_size is not None:
            result.set("size", str(job.result_size))
        if job.result_media_type:
            result.set("mime-type", job.result_media_type)


def _parameters(parent: ET.Element | None, job: Job) -> ET.Element:
    element = ET.Element(_tag("parameters")) if parent is None else ET.SubElement(parent, _tag("parameters"))
    for name, value in job.parameters():
        ET.SubElement(element, _tag("parameter"), {"id": name}).text = value
    return element


def job_document(job: Job, base: str) -> bytes:
    """The job, as GET {jobs}/{id} answers it."""
    root = ET.Element(_tag("job"), {"version": VERSION})
    _text(root, "jobId", job.id)
    if job.run_id is not None:
        _text(root, "runId", job.run_id)
    _text(root, "ownerId", job.owner)
    _text(root, "phase", str(job.phase))
    _text(root, "quote", _time(job.quote))
    _text(root, "creationTime", iso(job.created_at))
    _text(root, "startTime", _time(job.started_at))
    _text(root, "endTime", _time(job.ended_at))
    _text(root, "executionDuration", str(job.execution_duration))
    _text(root, "destruction", iso(job.destruction))
    _parameters(root, job)
    _results(root, job, base)
    if job.phase is Phase.ERROR:
        summary = ET.SubElement(
            root, _tag("errorSummary"), {"type": job.error_type or "fatal", "hasDetail": "true"}
        )
        _text(summary, "message", job.error_summary or "the job failed")
    return _bytes(root)


def job_list(jobs: Sequence[Job], base: str) -> bytes:
    """The caller's jobs, as GET {jobs} answers them."""
    root = ET.Element(_tag("jobs"), {"version": VERSION})
    for job in jobs:
        ref = ET.SubElement(root, _tag("jobref"), {"id": job.id})
        ref.set(f"{{{XLINK}}}type", "simple")
        ref.set(f"{{{XLINK}}}href", job_url(base, job))
        _text(ref, "phase", str(job.phase))
        if job.run_id is not None:
            _text(ref, "runId", job.run_id)
        _text(ref, "ownerId", job.owner)
        _text(ref, "creationTime", iso(job.created_at))
    return _bytes(root)


def results_document(job: Job, base: str) -> bytes:
    root = ET.Element("root")
    _results(root, job, base)
    return _bytes(root[0])


def parameters_document(job: Job) -> bytes:
    return _bytes(_parameters(None, job))
