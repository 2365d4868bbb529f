"""SPICA-DB event contracts. Importing this package registers every event."""

from . import probe
from .base import Event, event, event_class, registered_events

__all__ = ["Event", "event", "event_class", "probe", "registered_events"]
