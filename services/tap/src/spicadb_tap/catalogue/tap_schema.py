"""TAP_SCHEMA's published tables (schemas, tables, columns, keys, key_columns), as TAP 1.1 defines them.

TAP_SCHEMA describes itself: these declarations are published like any owner's, so its own tables and the
keys between them are rows of TAP_SCHEMA too (taplint E-TMS-TSLN asks for those keys).
"""

from __future__ import annotations

from spicadb_kit.published import PublishedColumn, PublishedKey, PublishedTable

SCHEMA = "TAP_SCHEMA"


def _text(name: str, description: str, *, indexed: bool = False) -> PublishedColumn:
    return PublishedColumn(
        name=name,
        datatype="char",
        arraysize="*",
        description=description,
        principal=True,
        indexed=indexed,
        std=True,
    )


def _int(name: str, description: str) -> PublishedColumn:
    return PublishedColumn(name=name, datatype="int", description=description, principal=True, std=True)


def _table(
    name: str, description: str, *columns: PublishedColumn, keys: tuple[PublishedKey, ...] = ()
) -> PublishedTable:
    return PublishedTable(
        schema=SCHEMA, name=name, description=description, columns=columns, table_type="table", keys=keys
    )


SCHEMAS = _table(
    "schemas",
    "The schemas of the tables this service offers",
    _text("schema_name", "Schema name, as written in queries", indexed=True),
    _text("utype", "Data model of the schema"),
    _text("description", "What the schema holds"),
    _int("schema_index", "Order in which clients list the schemas"),
)

TABLES = _table(
    "tables",
    "The tables this service offers",
    _text("schema_name", "Schema the table belongs to"),
    _text("table_name", "Table name, as written in queries (schema-qualified)", indexed=True),
    _text("table_type", "table or view"),
    _text("utype", "Data model of the table"),
    _text("description", "What the table holds"),
    _int("table_index", "Order in which clients list the tables"),
    keys=(PublishedKey(("schema_name",), f"{SCHEMA}.schemas", ("schema_name",), "The table's schema"),),
)

COLUMNS = _table(
    "columns",
    "The columns of the tables this service offers",
    _text("table_name", "Table the column belongs to (schema-qualified)", indexed=True),
    _text("column_name", "Column name, as written in queries", indexed=True),
    _text("datatype", "VOTable datatype of the column's values"),
    _text("arraysize", "VOTable arraysize (* for strings of any length)"),
    _text("xtype", "DALI extended type (timestamp, adql:REGION ...)"),
    _int("size", "Fixed array size (TAP 1.0's; arraysize says more), null for variable sizes"),
    _text("description", "What the column holds"),
    _text("utype", "Data model field of the column"),
    _text("unit", "VOUnit of the column's values"),
    _text("ucd", "UCD 1+ of the column"),
    _int("indexed", "1 when an index serves conditions on the column, 0 otherwise"),
    _int("principal", "1 when the column is among the ones shown by default, 0 otherwise"),
    _int("std", "1 when a standard defines the column, 0 otherwise"),
    _int("column_index", "Order of the column in its table"),
    keys=(PublishedKey(("table_name",), f"{SCHEMA}.tables", ("table_name",), "The column's table"),),
)

KEYS = _table(
    "keys",
    "The foreign keys between the tables this service offers",
    _text("key_id", "Identifier of the key", indexed=True),
    _text("from_table", "Table holding the key's columns (schema-qualified)"),
    _text("target_table", "Table the key points to (schema-qualified)"),
    _text("description", "What the key means"),
    _text("utype", "Data model of the key"),
    keys=(
        PublishedKey(("from_table",), f"{SCHEMA}.tables", ("table_name",), "The key's table"),
        PublishedKey(("target_table",), f"{SCHEMA}.tables", ("table_name",), "The table the key points to"),
    ),
)

KEY_COLUMNS = _table(
    "key_columns",
    "The columns of the foreign keys between the tables this service offers",
    _text("key_id", "Identifier of the key", indexed=True),
    _text("from_column", "Column of the key in its table"),
    _text("target_column", "Column it matches in the target table"),
    keys=(PublishedKey(("key_id",), f"{SCHEMA}.keys", ("key_id",), "The key the column belongs to"),),
)

PUBLISHED: tuple[PublishedTable, ...] = (SCHEMAS, TABLES, COLUMNS, KEYS, KEY_COLUMNS)
