-- First start of the compose PostgreSQL: run once by the image's entry point, as the superuser
-- POSTGRES_USER, connected to POSTGRES_DB (spicadb), when the data volume is still empty.
-- Everything a service owns (its schema, role, tables) comes from `spicadb migrate`, not from here:
-- this file only prepares what the migrations cannot create themselves.

-- Stop at the first error: a half-initialised volume is worse than a container that refuses to start.
\set ON_ERROR_STOP on

-- Spherical types and GiST-indexable operators (spoint, scircle, cone searches) for obsportal, oidb and
-- the programme targets (spicadb.targets).
-- Creating an extension needs a superuser, which the service roles are not; it goes into the public
-- schema so that every service schema sees the types through the default search_path.
CREATE EXTENSION IF NOT EXISTS pg_sphere WITH SCHEMA public;

-- Observation times are UTC throughout; make that the session default for every connection.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
END
$$;
