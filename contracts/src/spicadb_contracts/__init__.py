"""SPICA-DB event contracts. Importing this package registers every event."""

from . import auth, nightlogs, oifits, probe, programmes
from .base import Event, event, event_class, registered_events

__all__ = [
    "Event",
    "auth",
    "event",
    "event_class",
    "nightlogs",
    "oifits",
    "probe",
    "programmes",
    "registered_events",
]
