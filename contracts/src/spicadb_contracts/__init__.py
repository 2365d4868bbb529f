"""SPICA-DB event contracts. Importing this package registers every event."""

from . import auth, nightlogs, probe, programmes
from .base import Event, event, event_class, registered_events

__all__ = ["Event", "auth", "event", "event_class", "nightlogs", "probe", "programmes", "registered_events"]
