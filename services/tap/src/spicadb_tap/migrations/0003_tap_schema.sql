-- TAP_SCHEMA (TAP 1.1 §4), in the schema tap_schema that the migration runner made for the tap role.
-- Its rows are not written by hand: the service regenerates them from the published declarations
-- (spicadb_tap.catalogue.tap_schema_rows) whenever those change. The reader role reads them (published).

CREATE TABLE tap_schema.schemas (
    schema_name  text PRIMARY KEY,
    utype        text,
    description  text,
    schema_index integer
);

CREATE TABLE tap_schema.tables (
    schema_name text NOT NULL,
    table_name  text PRIMARY KEY,
    table_type  text NOT NULL,
    utype       text,
    description text,
    table_index integer
);

CREATE TABLE tap_schema.columns (
    table_name   text    NOT NULL,
    column_name  text    NOT NULL,
    datatype     text    NOT NULL,
    arraysize    text,
    xtype        text,
    -- TAP 1.0's, kept by TAP 1.1 (taplint asks for it): a fixed arraysize as a number, else null
    "size"       integer,
    description  text,
    utype        text,
    unit         text,
    ucd          text,
    indexed      integer NOT NULL CHECK (indexed IN (0, 1)),
    principal    integer NOT NULL CHECK (principal IN (0, 1)),
    std          integer NOT NULL CHECK (std IN (0, 1)),
    column_index integer,
    PRIMARY KEY (table_name, column_name)
);

CREATE TABLE tap_schema.keys (
    key_id       text PRIMARY KEY,
    from_table   text NOT NULL,
    target_table text NOT NULL,
    description  text,
    utype        text
);

CREATE TABLE tap_schema.key_columns (
    key_id        text NOT NULL,
    from_column   text NOT NULL,
    target_column text NOT NULL,
    PRIMARY KEY (key_id, from_column)
);

-- what the rows were generated from (a digest of the catalogue), so that a service's replicas regenerate
-- them only when the published declarations changed, one at a time (the row is locked meanwhile)
CREATE TABLE tap_schema_generation (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    digest       text        NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tap_schema_generation (digest) VALUES ('');
