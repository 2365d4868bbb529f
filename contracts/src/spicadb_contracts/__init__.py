"""SPICA-DB event contracts. Importing this package registers every event."""

from . import auth, probe
from .base import Event, event, event_class, registered_events

__all__ = ["Event", "auth", "event", "event_class", "probe", "registered_events"]
