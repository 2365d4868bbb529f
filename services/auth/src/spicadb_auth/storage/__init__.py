"""SQL of the auth service: one store per concern, each bound to a connection the caller's
service holds inside its transaction (stores never commit)."""

from .accounts import AccountStore
from .audit import AuditStore
from .clients import ClientStore
from .grants import GrantStore
from .keys import KeyStore
from .sessions import SessionStore

__all__ = ["AccountStore", "AuditStore", "ClientStore", "GrantStore", "KeyStore", "SessionStore"]
