"""ADQL 2.0 to PostgreSQL + pgSphere: queryparser-python3's translator, wrapped.

queryparser translates the ADQL core well but checks nothing and leaves gaps (vo-interop.md §4): it drops
a second statement silently, passes unknown functions (``pg_sleep``) through, knows no catalogue, leaves
COORD1/COORD2 untranslated, refuses ``5E4``, and writes ``spoint_dwithin`` and ``square_degrees``, which
the pgSphere we run (1.1/1.2) lacks. So, around it:

1. a scan of the ADQL itself: one SELECT statement, functions of the ADQL set only, numbers normalised,
   comments dropped; each refusal names its line and column;
2. the translation; a syntax error keeps queryparser's position (in the ADQL);
3. checks of the SQL produced: functions against an allow-list, tables against the catalogue and this
   request's uploads (nothing else: no other schema, no pg_catalog, no information_schema), columns
   against their tables;
4. rewrites: COORD1/COORD2 to pgSphere's long()/lat() in degrees, DISTANCE conditions to a point in
   a circle (indexed, where ``spoint_dwithin`` is missing), AREA to square degrees, ``TAP_UPLOAD.name`` to the request's temporary table.

The answer also says where each output column comes from, so that a result's FIELDs carry the
declaration of the published column they show (taplint compares them with TAP_SCHEMA).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from queryparser.exceptions import QueryError as ParserQueryError
from queryparser.exceptions import QuerySyntaxError

from spicadb_kit.context import ServiceContext
from spicadb_kit.published import PublishedColumn, PublishedTable

from .parsing import FastProcessor, FastTranslator

__all__ = [
    "UPLOAD_SCHEMA",
    "AdqlError",
    "CatalogueView",
    "Origin",
    "Translated",
    "start_warm_up",
    "translate",
    "translate_async",
    "upload_relation",
    "warm_up_async",
]


def _not_queryparser(record: logging.LogRecord) -> bool:
    return "queryparser" not in record.pathname


# queryparser logs every parse step at INFO on the root logger: a dozen lines per query
logging.getLogger().addFilter(_not_queryparser)

UPLOAD_SCHEMA = "TAP_UPLOAD"
# an upload's table name: an ADQL regular identifier, short (it becomes a temporary table's name)
UPLOAD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


class CatalogueView(Protocol):
    """What translation needs of ``spicadb_tap.catalogue.Catalogue``."""

    def table(self, schema: str, name: str) -> PublishedTable | None: ...

    def column(self, schema: str, table: str, column: str) -> PublishedColumn | None: ...


class AdqlError(Exception):
    """A query refused before it runs: ``message`` for the user, the ADQL ``line``/``column`` (1-based)
    where known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, column {self.column})"


class UnknownTable(AdqlError):
    """A table neither published nor uploaded (the caller may reload its catalogue and try again)."""


class Origin(NamedTuple):
    """The published column an output column shows (ADQL names as declared)."""

    schema: str
    table: str
    column: str


@dataclass(frozen=True)
class Translated:
    """An ADQL query as PostgreSQL (``sql``: no MAXREC limit, no trailing semicolon)."""

    adql: str
    sql: str
    # the ADQL names of the tables read ("ivoa.ObsCore", "TAP_UPLOAD.mine")
    tables: tuple[str, ...]
    # output column name (lower case) -> the published column it shows, or None
    columns: dict[str, Origin | None] = field(default_factory=dict)
    # the upload names the query reads (lower case)
    uploads: tuple[str, ...] = ()
    # output column name (lower case) -> the declaration of the published column it shows
    declarations: dict[str, PublishedColumn] = field(default_factory=dict)

    def origin(self, name: str) -> Origin | None:
        """The published column an output column (by its name) shows, if known."""
        return self.columns.get(name.lower())

    def declaration(self, name: str) -> PublishedColumn | None:
        """The declaration of the published column an output column (by its name) shows, if known."""
        return self.declarations.get(name.lower())


def upload_relation(name: str) -> str:
    """The temporary table an upload ``TAP_UPLOAD.name`` is loaded into (in the session's pg_temp)."""
    return f"tap_upload_{name.lower()}"


# ------------------------------------------------------------------------------------------ the scanner


class Token(NamedTuple):
    kind: str  # word, quoted, string, number, punct, space
    text: str
    line: int
    column: int  # 1-based


_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<comment>--[^\n]*)"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<quoted>\"(?:[^\"]|\"\")*\")"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)"
    r"|(?P<punct>::|<>|!=|<=|>=|\|\||<->|[^'\"])",
    re.DOTALL,
)


def _tokens(text: str) -> Iterator[Token]:
    line, start = 1, 0
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # an unterminated string or quoted identifier
            raise AdqlError("unterminated string or quoted name", line, pos - start + 1)
        kind = m.lastgroup or "punct"
        value = m.group()
        yield Token(kind, value, line, pos - start + 1)
        newlines = value.count("\n")
        if newlines:
            line += newlines
            start = pos + value.rindex("\n") + 1
        pos = m.end()


# ADQL's functions (2.0 and the geometry), by name: what may be called in a query
ADQL_FUNCTIONS = frozenset(
    {
        "abs", "acos", "asin", "atan", "atan2", "ceiling", "cos", "cot", "degrees", "exp", "floor",
        "log", "log10", "mod", "pi", "power", "radians", "rand", "round", "sin", "sqrt", "tan",
        "truncate", "count", "min", "max", "sum", "avg", "point", "circle", "box", "polygon",
        "contains", "intersects", "distance", "area", "coord1", "coord2",
    }
)  # fmt: skip
# words that stand before a parenthesis without calling anything
_KEYWORDS = frozenset(
    {
        "select", "from", "where", "and", "or", "not", "in", "exists", "on", "join", "as", "by",
        "having", "union", "intersect", "except", "all", "any", "some", "between", "when", "then",
        "else", "case", "like", "ilike", "distinct", "using", "is", "top", "offset", "end", "desc",
        "asc", "inner", "outer", "left", "right", "full", "natural", "group", "order", "null",
    }
)  # fmt: skip
# what the translated SQL may call: the ADQL functions as queryparser writes them, pgSphere's constructors
SQL_FUNCTIONS = frozenset(
    ADQL_FUNCTIONS
    | {
        "ceil", "ln", "trunc", "random", "spoint", "scircle", "sbox", "spoly", "spoint_dwithin",
        "square_degrees", "long", "lat",
    }
)  # fmt: skip
_STATEMENTS = frozenset(
    {"insert", "update", "delete", "drop", "create", "alter", "truncate", "grant", "revoke", "copy",
     "call", "do", "set", "reset", "begin", "commit", "rollback", "vacuum", "analyze", "explain",
     "lock", "listen", "notify", "prepare", "execute", "declare", "fetch", "show", "comment"}
)  # fmt: skip
_FORBIDDEN_PREFIXES = ("pg_", "information_schema")
_INTEGER_EXPONENT = re.compile(r"^(\d+)([eE][+-]?\d+)$")


# the parser's work grows fast with a query's length and nesting (ANTLR's prediction in Python: 24 nested
# parentheses ~1.3 s, 200 ~14 s): bounds that every real query stays well within
MAX_QUERY_CHARS = 20_000
MAX_NESTING = 16


def _scan(adql: str) -> str:
    """The ADQL checked word by word and normalised: comments gone, ``5E4`` as ``5.0E4``, a trailing
    semicolon dropped. Refuses a second statement, a statement other than SELECT, functions outside
    ADQL's, system names, a query too long or nested too deep."""
    if len(adql) > MAX_QUERY_CHARS:
        raise AdqlError(f"the query is longer than {MAX_QUERY_CHARS:,} characters")
    tokens = [t for t in _tokens(adql) if t.kind != "comment"]
    depth = 0
    for token in tokens:
        if token.text in "()" and token.kind == "punct":
            depth += 1 if token.text == "(" else -1
            if depth > MAX_NESTING:
                raise AdqlError(f"parentheses nested deeper than {MAX_NESTING}", token.line, token.column)
    significant = [t for t in tokens if t.kind != "space"]
    if not significant:
        raise AdqlError("the query is empty")
    first = significant[0]
    if first.text.lower() == "with":
        raise AdqlError("WITH is not supported: write the subquery in FROM", first.line, first.column)
    if first.text.lower() != "select":
        word = first.text.upper()
        why = "changes nothing here: " if word.lower() in _STATEMENTS else ""
        raise AdqlError(f"{why}only SELECT queries are allowed, not {word}", first.line, first.column)
    for i, token in enumerate(significant):
        if token.text == ";":
            if i != len(significant) - 1:
                nxt = significant[i + 1]
                raise AdqlError("only one statement is allowed", nxt.line, nxt.column)
        elif token.kind == "quoted" and token.text[1:-1].lower().startswith(_FORBIDDEN_PREFIXES):
            raise AdqlError(f"{token.text} is not a published table or column", token.line, token.column)
        elif token.kind == "word":
            lower = token.text.lower()
            following = significant[i + 1] if i + 1 < len(significant) else None
            called = following is not None and following.text == "("
            previous = significant[i - 1].text if i else ""
            if called and lower not in ADQL_FUNCTIONS and lower not in _KEYWORDS and previous != ".":
                raise AdqlError(
                    f"function {token.text} is not supported: ADQL's functions only", token.line, token.column
                )
            if lower.startswith(_FORBIDDEN_PREFIXES):
                raise AdqlError(f"{token.text} is not a published table or column", token.line, token.column)
        elif token.kind == "quoted" and i + 1 < len(significant) and significant[i + 1].text == "(":
            raise AdqlError(f"function {token.text} is not supported", token.line, token.column)
    out = []
    for token in tokens:
        if token.kind == "space":
            out.append(token.text)
        elif token.kind == "number" and (m := _INTEGER_EXPONENT.match(token.text)):
            out.append(f"{m.group(1)}.0{m.group(2)}")
        else:
            out.append(token.text)
    text = "".join(out).strip()
    return text[:-1].rstrip() if text.endswith(";") else text


# ------------------------------------------------------------------------------------- SQL rewriting


def _sql_words(sql: str) -> list[Token]:
    return [t for t in _tokens(sql) if t.kind not in ("space", "comment")]


def _check_sql(sql: str) -> None:
    """The translated SQL calls only allowed functions and names no system object (a second defence:
    the ADQL scan already refused these)."""
    words = _sql_words(sql)
    for i, token in enumerate(words):
        lower = token.text.lower()
        if token.text == "::" or token.text == ";":
            raise AdqlError(f"{token.text!r} is not ADQL")
        if token.kind == "word":
            called = i + 1 < len(words) and words[i + 1].text == "("
            if called and lower not in SQL_FUNCTIONS and lower not in _KEYWORDS:
                raise AdqlError(f"function {token.text} is not supported: ADQL's functions only")
            if lower.startswith(_FORBIDDEN_PREFIXES):
                raise AdqlError(f"{token.text} is not a published table or column")


def _closing(sql: str, open_index: int) -> int:
    """The index of the parenthesis closing the one at ``open_index`` (strings skipped)."""
    depth = 0
    i = open_index
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            i = sql.index(ch, i + 1) + 1
            while i < len(sql) and sql[i] == ch:  # a doubled quote inside
                i = sql.index(ch, i + 1) + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AdqlError("unbalanced parentheses")


def _rewrite_calls(sql: str, name: str, wrap: Callable[[str], str]) -> str:
    """Every call ``name(args)`` outside strings replaced by ``wrap(args)``, innermost first."""
    pattern = re.compile(rf"\b{name}\s*\(", re.IGNORECASE)
    while True:
        match = next((m for m in pattern.finditer(sql) if not _in_string(sql, m.start())), None)
        if match is None:
            return sql
        open_index = match.end() - 1
        close = _closing(sql, open_index)
        inner = _rewrite_calls(sql[open_index + 1 : close], name, wrap)
        sql = sql[: match.start()] + wrap(inner) + sql[close + 1 :]


def _in_string(sql: str, index: int) -> bool:
    """Whether ``index`` falls inside a string literal or a quoted name."""
    quote: str | None = None
    for ch in sql[:index]:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
    return quote is not None


def _split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            i = text.index(ch, i + 1) + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


_CONSTANT_POINT = re.compile(
    r"^spoint\(\s*RADIANS\(\s*[-+]?[\d.eE+-]+\s*\)\s*,\s*RADIANS\(\s*[-+]?[\d.eE+-]+\s*\)\s*\)$",
    re.IGNORECASE,
)


def _dwithin(arguments: str) -> str:
    """``spoint_dwithin(p1, p2, r)`` (pgSphere 1.4, which we lack) as a containment in a circle: the
    same points (a distance up to r), and the form a GiST index on the column's point serves (the
    ``<->`` distance no index serves). The point made of constants becomes the circle's centre."""
    parts = _split_arguments(arguments)
    if len(parts) != 3:
        raise AdqlError("DISTANCE takes two points")
    first, second, radius = parts
    if _CONSTANT_POINT.match(first) and not _CONSTANT_POINT.match(second):
        first, second = second, first
    return f"(({first}) @ scircle({second}, {radius}))"


def _rewrite(sql: str) -> str:
    """pgSphere 1.1/1.2 spellings of what queryparser writes for newer pgSphere or leaves untranslated."""
    sql = _rewrite_calls(sql, "COORD1", lambda a: f"DEGREES(long({a}))")
    sql = _rewrite_calls(sql, "COORD2", lambda a: f"DEGREES(lat({a}))")
    sql = _rewrite_calls(sql, "spoint_dwithin", _dwithin)
    return _rewrite_calls(sql, "square_degrees", lambda a: f"DEGREES(DEGREES({a}))")


def _rewrite_uploads(sql: str, names: Collection[str]) -> str:
    """``TAP_UPLOAD.name`` (any case, outside strings) to the request's temporary table, for exactly
    the uploads the query reads."""
    for name in names:
        pattern = re.compile(rf"\bTAP_UPLOAD\s*\.\s*{re.escape(name)}\b", re.IGNORECASE)
        relation = f"pg_temp.{upload_relation(name)}"
        pieces, last = [], 0
        for m in pattern.finditer(sql):
            if not _in_string(sql, m.start()):
                pieces += [sql[last : m.start()], relation]
                last = m.end()
        sql = "".join(pieces) + sql[last:]
    return sql


# ------------------------------------------------------------------------------------------ translate


def _syntax_error(exc: QuerySyntaxError) -> AdqlError:
    errors = getattr(exc, "syntax_errors", None) or (exc.args[0] if exc.args else [])
    if errors and isinstance(errors, list) and isinstance(errors[0], tuple) and len(errors[0]) >= 3:
        line, column, near = errors[0][:3]
        near_text = "the end of the query" if near == "<EOF>" else repr(near)
        return AdqlError(f"ADQL syntax error near {near_text}", int(line), int(column) + 1)
    return AdqlError("ADQL syntax error")


def _processor(sql: str) -> FastProcessor:
    # COORD1/COORD2 are not in the processor's grammar: DEGREES has their shape (one argument)
    analysable = re.sub(r"\bCOORD[12]\s*\(", "DEGREES(", sql, flags=re.IGNORECASE)
    try:
        return FastProcessor(analysable)
    except QuerySyntaxError as exc:
        errors = getattr(exc, "syntax_errors", None) or []
        near = f" near {errors[0][2]!r}" if errors and len(errors[0]) >= 3 else ""
        raise AdqlError(f"this query uses a construct that is not supported{near}") from None
    except ParserQueryError as exc:
        if "schema" in str(exc).lower():
            raise UnknownTable(
                "a table without its schema: name it with its schema (e.g. ivoa.ObsCore)"
            ) from None
        raise AdqlError(str(exc)) from None  # e.g. "Column 'a' is ambiguous."
    except Exception:  # queryparser's analysis fails on constructs it does not handle
        raise AdqlError("this query uses a construct that is not supported") from None


# the last translations (a client repeats its queries; parsing costs ~10 ms): (ADQL, uploads) -> the
# catalogue they were checked against and the answer; a hit needs the same catalogue object
_CACHE: OrderedDict[tuple[str, frozenset[str]], tuple[CatalogueView, Translated]] = OrderedDict()
_CACHE_SIZE = 256


# Parsing is CPU work in Python (milliseconds for a known query shape, up to a second or two for a new
# one): it runs in this one thread, so that the event loop keeps answering other requests meanwhile and
# ANTLR's shared prediction caches and the translation cache see one thread only.
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adql")

# query shapes whose parser predictions are computed once when the service starts (a new shape costs
# up to seconds the first time, then milliseconds)
WARM_UP = (
    "SELECT TOP 1000 * FROM w.t WHERE 1 = CONTAINS(POINT('ICRS', a, b), CIRCLE('ICRS', 83.63, 22.01, 0.5))",
    "SELECT * FROM w.t WHERE CONTAINS(POINT('ICRS', a, b), BOX('ICRS', 1, 2, 3, 4)) = 1 ORDER BY a DESC",
    "SELECT * FROM w.t WHERE INTERSECTS(c, POLYGON('ICRS', 1, 2, 3, 4, 5, 6)) = 1 AND b BETWEEN -1.5 AND 2",
    "SELECT a, DISTANCE(POINT('ICRS', a, b), POINT('ICRS', 1, 2)) AS d FROM w.t "
    "WHERE DISTANCE(POINT('ICRS', a, b), POINT('ICRS', 1, 2)) < 0.1 ORDER BY d",
    "SELECT x.a, y.b FROM w.t AS x JOIN TAP_UPLOAD.u AS y ON x.a = y.a WHERE x.c LIKE 'A%' OR x.c IS NULL",
    "SELECT COUNT(*) AS n, MAX(a), MIN(b), AVG(b), SUM(a) FROM w.t GROUP BY c HAVING COUNT(*) > 1",
    "SELECT DISTINCT t.c FROM w.t AS t WHERE t.a IN (SELECT a FROM w.u WHERE b >= 1.0E4) OFFSET 10",
    "SELECT COORD1(POINT('ICRS', a, b)), COORD2(POINT('ICRS', a, b)), AREA(CIRCLE('ICRS', 1, 2, 3)) FROM w.t",
    "SELECT a FROM w.t WHERE c IN ('x', 'y') AND NOT (a = 1 OR b <> 2) AND EXISTS (SELECT 1 FROM w.u)",
    "SELECT TOP 10 ABS(a), ROUND(a, 2), SQRT(b), LOG10(a), MOD(a, 2), POWER(a, 2) FROM w.t ORDER BY 1",
)


_warmed: list[bool] = []


def warm_up() -> None:
    """Parse :data:`WARM_UP`, once per process (the caches it fills are the process's); in the parser's
    thread (call it through :func:`warm_up_async`)."""
    if _warmed:
        return
    _warmed.append(True)
    for adql in WARM_UP:
        try:
            sql = FastTranslator(_scan(adql)).to_postgresql()
            FastProcessor(re.sub(r"\bCOORD[12]\s*\(", "DEGREES(", sql.rstrip(";")))
        except Exception:  # a warm-up query is no user's: its outcome does not matter
            continue


async def translate_async(adql: str, catalogue: CatalogueView, uploads: Collection[str] = ()) -> Translated:
    """:func:`translate` in the parser's thread (the event loop goes on meanwhile); a kept translation
    is answered at once, without waiting for the thread."""
    kept = _kept(adql, catalogue, uploads)
    if kept is not None:
        return kept
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PARSER, translate, adql, catalogue, tuple(uploads))


async def warm_up_async() -> None:
    """:func:`warm_up` in the parser's thread."""
    await asyncio.get_running_loop().run_in_executor(_PARSER, warm_up)


async def start_warm_up(context: ServiceContext[Any, Any]) -> None:
    """A startup hook: the warm-up in the background (the service answers meanwhile)."""
    context.spawn(warm_up_async(), "adql-warm-up")


def translate(adql: str, catalogue: CatalogueView, uploads: Collection[str] = ()) -> Translated:
    """The PostgreSQL of an ADQL query, checked against the catalogue and the request's upload names
    (``TAP_UPLOAD.<name>``). Raises :class:`AdqlError`."""
    kept = _kept(adql, catalogue, uploads)
    if kept is not None:
        return kept
    names = frozenset(u.lower() for u in uploads)
    template = _template(adql)
    if template is not None:
        try:
            _keep((template[0], names), catalogue, _translate(template[0], catalogue, uploads))
        except AdqlError:
            pass  # refused: the query itself is translated below, for its own positions
        else:
            made = _kept(adql, catalogue, uploads)
            if made is not None:
                return made
    translated = _translate(adql, catalogue, uploads)
    _keep((adql, names), catalogue, translated)
    return translated


def _keep(key: tuple[str, frozenset[str]], catalogue: CatalogueView, translated: Translated) -> None:
    _CACHE[key] = (catalogue, translated)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _kept(adql: str, catalogue: CatalogueView, uploads: Collection[str]) -> Translated | None:
    """A kept translation of this query, or of its template (the same query with other numbers in its
    POINTs and CIRCLEs: a cone elsewhere) with this query's numbers put back."""
    names = frozenset(u.lower() for u in uploads)
    cached = _CACHE.get((adql, names))
    if cached is not None and cached[0] is catalogue:
        return cached[1]
    template = _template(adql)
    if template is None:
        return None
    cached = _CACHE.get((template[0], names))
    if cached is None or cached[0] is not catalogue:
        return None
    return _instantiate(cached[1], adql, template[1])


# ---------------------------------------------------------------------------------------- templates
# A cone search's translation differs from the last one's only by the numbers of its POINT and CIRCLE
# (queryparser writes each as RADIANS(<float>)): such numbers are replaced by sentinels of one length,
# the template translated once, and each query's numbers written back where the sentinels came out.
_SENTINEL = "987654.1"
_SENTINEL_NUMBER = re.compile(r"(?<![\d.])987654\.1\d{5}1(?![\d])")
_TEMPLATED = frozenset({"point", "circle"})


def _sentinel(index: int) -> str:
    return f"{_SENTINEL}{index:05d}1"


def _template(adql: str) -> tuple[str, list[str]] | None:
    """The query with the numbers of its POINT and CIRCLE arguments as sentinels, and those numbers;
    None when it has none (or already holds what looks like a sentinel)."""
    if _SENTINEL in adql or len(adql) > MAX_QUERY_CHARS:
        return None
    try:
        tokens = list(_tokens(adql))
    except AdqlError:
        return None
    significant = [i for i, t in enumerate(tokens) if t.kind not in ("space", "comment")]
    after = {i: tokens[j].text for i, j in itertools.pairwise(significant)}
    calls: list[str] = []  # the function each open parenthesis belongs to ("" for none)
    previous: Token | None = None
    before: list[str] = ["", ""]  # the two significant tokens before this one
    out: list[str] = []
    numbers: list[str] = []
    for index, token in enumerate(tokens):
        if token.kind == "punct" and token.text == "(":
            calls.append(previous.text.lower() if previous is not None and previous.kind == "word" else "")
        elif token.kind == "punct" and token.text == ")" and calls:
            calls.pop()
        # a number that is a whole argument (maybe signed), not part of an expression (10 / 3)
        whole = before[-1] in ("(", ",") or (before[-1] in ("-", "+") and before[-2] in ("(", ","))
        whole = whole and after.get(index) in (",", ")")
        if token.kind == "number" and whole and calls and calls[-1] in _TEMPLATED and len(numbers) < 99_999:
            out.append(_sentinel(len(numbers)))
            numbers.append(token.text)
        else:
            out.append(token.text)
        if token.kind not in ("space", "comment"):
            previous = token
            before = [before[-1], token.text]
    return ("".join(out), numbers) if numbers else None


def _instantiate(template: Translated, adql: str, numbers: list[str]) -> Translated | None:
    """The template's translation with these numbers in place of its sentinels (None if a sentinel
    did not come out exactly once, as queryparser writes a number: then the query is translated whole)."""
    found = _SENTINEL_NUMBER.findall(template.sql)
    expected = [str(float(_sentinel(i))) for i in range(len(numbers))]
    if sorted(found) != sorted(expected):
        return None
    values = {str(float(_sentinel(i))): str(float(n)) for i, n in enumerate(numbers)}
    sql = _SENTINEL_NUMBER.sub(lambda m: values[m.group()], template.sql)
    return Translated(adql, sql, template.tables, template.columns, template.uploads, template.declarations)


def _translate(adql: str, catalogue: CatalogueView, uploads: Collection[str]) -> Translated:
    text = _scan(adql)
    try:
        sql = FastTranslator(text).to_postgresql()
    except QuerySyntaxError as exc:
        raise _syntax_error(exc) from None
    except ParserQueryError as exc:
        raise AdqlError(f"ADQL not supported: {exc}") from None
    except Exception:
        raise AdqlError("ADQL not supported by this service") from None
    sql = sql.strip().rstrip(";").strip()
    _check_sql(sql)
    processor = _processor(sql)
    functions = {f.lower() for f in processor.functions}
    refused = sorted(functions - SQL_FUNCTIONS)
    if refused:
        raise AdqlError(f"function {refused[0]} is not supported: ADQL's functions only")
    upload_names = {u.lower(): u for u in uploads}
    tables, read_uploads = _check_tables(processor.tables, catalogue, upload_names)
    columns, declarations = _origins(processor.display_columns, catalogue)
    # names the select list gives (an alias of an expression or of another column)
    aliases = {
        a.lower() for a, src in processor.display_columns if not src[2:3] or str(src[2]).lower() != a.lower()
    }
    _check_columns(processor.columns, catalogue, tables, aliases)
    sql = _rewrite_uploads(_rewrite(sql), read_uploads)
    return Translated(adql, sql, tuple(tables), columns, tuple(read_uploads), declarations)


def _check_tables(
    found: list[tuple[str | None, str]], catalogue: CatalogueView, uploads: dict[str, str]
) -> tuple[list[str], list[str]]:
    names: list[str] = []
    read_uploads: list[str] = []
    for schema, name in found:
        if not schema:
            raise UnknownTable(f"table {name}: name it with its schema (e.g. ivoa.ObsCore)")
        if schema.lower() == UPLOAD_SCHEMA.lower():
            if name.lower() not in uploads:
                raise UnknownTable(f"no upload named {name} in this request (UPLOAD={name},param:...)")
            read_uploads.append(name.lower())
            names.append(f"{UPLOAD_SCHEMA}.{name}")
            continue
        table = catalogue.table(schema, name)
        if table is None:
            raise UnknownTable(f"no published table {schema}.{name}")
        names.append(table.qualified)
    return names, read_uploads


def _check_columns(
    found: list[tuple[str | None, str | None, str | None]],
    catalogue: CatalogueView,
    tables: list[str],
    aliases: set[str],
) -> None:
    """A column named that no table of the query has (nor an alias of the select list) is refused;
    queryparser attributes a column to some table of the query, not always the right one, so any
    table of the query will do."""
    if any(t.lower().startswith(UPLOAD_SCHEMA.lower() + ".") for t in tables):
        return  # an upload's columns are the request's own: PostgreSQL checks them
    known: set[str] = set(aliases)
    for qualified in tables:
        table_schema, _, name = qualified.partition(".")
        table = catalogue.table(table_schema, name)
        known |= {c.name.lower() for c in table.columns} if table else set()
    for schema, table_name, column in found:
        if not schema or not table_name or not column or column == "*":
            continue
        if column.lower() not in known:
            raise AdqlError(f"no column {column} in {', '.join(tables)}")


def _origins(
    display: list[tuple[str, list[str | None]]], catalogue: CatalogueView
) -> tuple[dict[str, Origin | None], dict[str, PublishedColumn]]:
    columns: dict[str, Origin | None] = {}
    declarations: dict[str, PublishedColumn] = {}
    for alias, source in display:
        schema, table, column = [*source, None, None, None][:3]
        published = catalogue.table(schema, table) if schema and table else None
        if published is None:
            columns.setdefault(alias.lower(), None)
            continue
        if column == "*":
            for c in published.columns:
                if c.name.lower() not in columns:
                    columns[c.name.lower()] = Origin(published.schema, published.name, c.name)
                    declarations[c.name.lower()] = c
            continue
        declared = catalogue.column(published.schema, published.name, column) if column else None
        if alias.lower() in columns:
            continue
        columns[alias.lower()] = Origin(published.schema, published.name, declared.name) if declared else None
        if declared:
            declarations[alias.lower()] = declared
    return columns, declarations
