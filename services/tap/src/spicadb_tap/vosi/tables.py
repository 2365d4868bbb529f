"""VOSI tables: the VODataService tableset of the catalogue, and one table's document.

It says what TAP_SCHEMA says, from the same catalogue (the same order, names written as ADQL writes them,
the same keys), in VODataService's terms (vo-interop.md §1): ``vs:VOTableType`` data types with
``arraysize`` and ``extendedType``; principal as the ``primary`` flag, std as the ``std`` attribute.
"""

from __future__ import annotations

from itertools import groupby
from typing import Literal
from xml.etree import ElementTree as ET

from spicadb_kit.published import PublishedColumn, PublishedTable

from ..catalogue import Catalogue
from ..catalogue.generate import SCHEMA_DESCRIPTIONS, ordered_tables, resolved_keys
from ..catalogue.names import adql_name
from .xml import XSI_TYPE, document, qname, sub

__all__ = ["Detail", "table_document", "tableset_document"]

# min: the tables without their columns (pyvo and TOPCAT ask for this first), max: everything
Detail = Literal["min", "max"]
# VODataService's names of table types
_TABLE_TYPES = {"table": "base_table", "view": "view"}


def _column(parent: ET.Element, column: PublishedColumn) -> None:
    element = sub(parent, "column", **({"std": "true"} if column.std else {}))
    sub(element, "name", adql_name(column.name))
    for tag, value in (
        ("description", column.description),
        ("unit", column.unit),
        ("ucd", column.ucd),
        ("utype", column.utype),
    ):
        if value:
            sub(element, tag, value)
    attributes = {XSI_TYPE: "vs:VOTableType"}
    if column.arraysize:
        attributes["arraysize"] = column.arraysize
    if column.xtype:
        attributes["extendedType"] = column.xtype
    ET.SubElement(element, "dataType", attributes).text = column.datatype
    if column.indexed:
        sub(element, "flag", "indexed")
    if column.principal:
        sub(element, "flag", "primary")


def _table(element: ET.Element, catalogue: Catalogue, table: PublishedTable, detail: Detail) -> None:
    element.set("type", _TABLE_TYPES.get(table.table_type, table.table_type))
    sub(element, "name", table.qualified)
    if table.description:
        sub(element, "description", table.description)
    if table.utype:
        sub(element, "utype", table.utype)
    if detail == "min":
        return
    for column in table.columns:
        _column(element, column)
    for key in resolved_keys(catalogue, table):
        foreign = sub(element, "foreignKey")
        sub(foreign, "targetTable", key.target)
        for source, target in key.columns:
            pair = sub(foreign, "fkColumn")
            sub(pair, "fromColumn", source)
            sub(pair, "targetColumn", target)
        if key.description:
            sub(foreign, "description", key.description)


def tableset_document(catalogue: Catalogue, detail: Detail = "max") -> bytes:
    """``<vtm:tableset>``: each schema with its tables (with their columns and keys unless ``min``)."""
    root = ET.Element(qname("vtm", "tableset"))
    for schema, tables in groupby(ordered_tables(catalogue), key=lambda t: t.schema):
        element = sub(root, "schema")
        sub(element, "name", schema)
        description = SCHEMA_DESCRIPTIONS.get(schema.lower())
        if description:
            sub(element, "description", description)
        for table in tables:
            _table(sub(element, "table"), catalogue, table, detail)
    return document(root, declare=("vs",))


def table_document(catalogue: Catalogue, table: PublishedTable) -> bytes:
    """``<vtm:table>``: one table with its columns and keys (VOSI 1.1 ``/tables/{name}``)."""
    root = ET.Element(qname("vtm", "table"))
    _table(root, catalogue, table, "max")
    return document(root, declare=("vs",))
