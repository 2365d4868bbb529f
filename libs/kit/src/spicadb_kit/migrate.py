"""Migration runner: ordered SQL files per component, applied in a service's own schema.

Each service owns one schema and one role. Files are named ``NNNN_what.sql``; applied files
are recorded with their sha256, and a changed or vanished applied file stops the run (a
migration, once applied somewhere, is history). A cluster-wide advisory lock keeps two
runners (two pods, two `make run`) from interleaving.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

import asyncpg

from .leakproof import mark as mark_leakproof
from .logs import get_logger
from .published import PublishedTable, grant_reader, provision, publish
from .spec import ServiceSpec

__all__ = [
    "KIT_COMPONENT",
    "Migration",
    "MigrationError",
    "applied_migrations",
    "apply_migrations",
    "load_migrations",
    "migrate_service",
    "pending",
    "schema_status",
    "service_migrations",
    "version_tag",
]

log = get_logger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_LOCK = "spicadb.migrate"
KIT_COMPONENT = "kit"


class MigrationError(RuntimeError):
    """The database and the migration files disagree."""


@dataclass(frozen=True)
class Migration:
    """One SQL file of a component's migrations (the service's own or a kit component's), identified by
    component and version."""

    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """The SHA-256 of the SQL, recorded when applied so an edited migration is noticed."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str, component: str) -> list[Migration]:
    """The NNNN_name.sql files of a package in version order (two files with one version are refused)."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(component, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{package}: two migrations share a version number")
    return sorted(found, key=lambda m: m.version)


def service_migrations(spec: ServiceSpec) -> list[Migration]:
    """The kit's tables first, then the kit components the service uses, then its own files."""
    migrations = load_migrations("spicadb_kit.migrations", KIT_COMPONENT)
    for component, package in spec.kit_components:  # shared tables a service opts into (rights)
        migrations += load_migrations(package, component)
    if spec.migrations:
        migrations += load_migrations(spec.migrations, spec.name)
    return migrations


def version_tag(migrations: Iterable[Migration]) -> str:
    """``kit:0001 programmes:0004``: the last version per component, shown in health."""
    last: dict[str, int] = {}
    for m in migrations:
        last[m.component] = max(last.get(m.component, 0), m.version)
    return " ".join(f"{c}:{v:04d}" for c, v in sorted(last.items()))


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise MigrationError(f"{name!r} is not a plain SQL identifier")
    return f'"{name}"'


async def _ensure_owner(conn: asyncpg.Connection, schema: str, role: str, extensions: Sequence[str]) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        await conn.execute(f"CREATE ROLE {_ident(role)} LOGIN")
    for extension in extensions:
        await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {_ident(extension)} SCHEMA public")
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {_ident(schema)}.schema_migrations (
            component  text        NOT NULL,
            version    integer     NOT NULL,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (component, version))"""
    )
    await conn.execute(f"ALTER TABLE {_ident(schema)}.schema_migrations OWNER TO {_ident(role)}")


async def applied_migrations(conn: asyncpg.Connection, schema: str) -> dict[tuple[str, int], str]:
    """The checksums of the migrations already applied in a schema, by (component, version); empty on a
    fresh schema."""
    exists = await conn.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations")
    if exists is None:
        return {}
    rows = await conn.fetch(f"SELECT component, version, checksum FROM {_ident(schema)}.schema_migrations")
    return {(r["component"], r["version"]): r["checksum"] for r in rows}


def pending(migrations: Sequence[Migration], applied: dict[tuple[str, int], str]) -> list[Migration]:
    """Migrations still to apply; raises when an applied one was edited or removed."""
    known = {(m.component, m.version): m for m in migrations}
    for key, checksum in applied.items():
        if key not in known:
            raise MigrationError(f"migration {key[0]}:{key[1]:04d} is applied but its file is gone")
        if known[key].checksum != checksum:
            raise MigrationError(
                f"migration {key[0]}:{key[1]:04d}_{known[key].name} was edited after being applied"
            )
    return [m for m in migrations if (m.component, m.version) not in applied]


async def apply_migrations(
    conn: asyncpg.Connection,
    *,
    schema: str,
    role: str,
    migrations: Sequence[Migration],
    extensions: Sequence[str] = (),
    publishes: Sequence[PublishedTable] = (),
    reads_published: bool = False,
) -> str:
    """Bring ``schema`` up to date (as the cluster's admin); returns the schema version tag. ``publishes``:
    the tables the service publishes (schemas made before, declarations written after its migrations);
    ``reads_published``: its role may read every published table."""
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", _LOCK)
    try:
        await _ensure_owner(conn, schema, role, extensions)
        await provision(conn, role=role, tables=publishes)
        if publishes:  # a cone on a security_barrier view uses its index (spicadb_kit.leakproof)
            await mark_leakproof(conn)
        todo = pending(migrations, await applied_migrations(conn, schema))
        for migration in todo:
            async with conn.transaction():
                # objects belong to the service's role, not to the admin running this
                await conn.execute(f"SET LOCAL ROLE {_ident(role)}")
                await conn.execute(f"SET LOCAL search_path TO {_ident(schema)}, public")
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                    migration.component,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info(
                "migration applied",
                schema=schema,
                component=migration.component,
                version=migration.version,
                name=migration.name,
            )
        await publish(conn, owner=schema, tables=publishes)
        if reads_published:
            await grant_reader(conn, role)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", _LOCK)
    return version_tag(migrations)


async def migrate_service(conn: asyncpg.Connection, spec: ServiceSpec) -> str:
    """Apply a service's pending migrations (its own and its kit components') in its schema; the schema's
    version tag."""
    return await apply_migrations(
        conn,
        schema=spec.schema,
        role=spec.role,
        migrations=service_migrations(spec),
        extensions=spec.extensions,
        publishes=spec.published,
        reads_published=spec.reads_published,
    )


async def schema_status(
    conn: asyncpg.Connection, schema: str, migrations: Sequence[Migration]
) -> tuple[str, list[str]]:
    """(version tag of what is applied, names of pending migrations) as a service sees itself."""
    applied = await applied_migrations(conn, schema)
    todo = pending(migrations, applied)
    done = [m for m in migrations if (m.component, m.version) in applied]
    return version_tag(done), [f"{m.component}:{m.version:04d}_{m.name}" for m in todo]
