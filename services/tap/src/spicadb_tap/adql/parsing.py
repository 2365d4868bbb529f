"""queryparser's translator and processor, parsed the fast way.

queryparser parses with ANTLR's default prediction (full LL), and its translator parses each query twice
(when the query is set, and again to translate): a cone search took ~0.5 s to translate and ~0.13 s to
analyse in the Python runtime, most of it in full-context prediction. ANTLR's two-stage strategy gives
the same trees: parse with SLL prediction first, which is exact whenever it reports no syntax error, and
parse again with full LL only when it does (then the errors are LL's, the ones users get). The
translator's first parse is kept for the translation. The grammars and queryparser's code are untouched:
only the parser classes they instantiate and the translator's ``parse`` are replaced.
"""

from __future__ import annotations

from typing import Any

import antlr4
from antlr4.atn.PredictionMode import PredictionMode
from queryparser.adql import ADQLQueryTranslator
from queryparser.adql.ADQLLexer import ADQLLexer
from queryparser.adql.ADQLParser import ADQLParser
from queryparser.adql.adqltranslator import SyntaxErrorListener as AdqlSyntaxErrorListener
from queryparser.common.common import SyntaxErrorListener
from queryparser.exceptions import QuerySyntaxError
from queryparser.postgresql import PostgreSQLQueryProcessor
from queryparser.postgresql.PostgreSQLParser import PostgreSQLParser

__all__ = ["FastProcessor", "FastTranslator"]


class _SllAdqlParser(ADQLParser):  # type: ignore[misc]
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._interp.predictionMode = PredictionMode.SLL


class _SllPostgreSQLParser(PostgreSQLParser):  # type: ignore[misc]
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._interp.predictionMode = PredictionMode.SLL


class FastTranslator(ADQLQueryTranslator):  # type: ignore[misc]
    """ADQLQueryTranslator parsing once, SLL first."""

    def parse(self) -> None:
        if getattr(self, "_parsed", None) == self.query:
            return
        for parser_class in (_SllAdqlParser, ADQLParser):
            stream = antlr4.CommonTokenStream(ADQLLexer(antlr4.InputStream(self.query)))
            parser = parser_class(stream)
            listener = AdqlSyntaxErrorListener()
            parser._listeners = [listener]
            tree = parser.query()
            if not listener.syntax_errors:
                break
        if listener.syntax_errors:
            raise QuerySyntaxError(listener.syntax_errors)
        self.stream, self.parser, self.syntax_error_listener, self.tree = stream, parser, listener, tree
        self.walker = antlr4.ParseTreeWalker()
        self._parsed = self.query


class FastProcessor(PostgreSQLQueryProcessor):  # type: ignore[misc]
    """PostgreSQLQueryProcessor analysing with SLL prediction first, full LL only on a syntax error."""

    def __init__(self, query: str) -> None:
        super().__init__()
        self.parser = _SllPostgreSQLParser
        self.set_query(query)
        try:
            self.process_query()
        except QuerySyntaxError:
            self.parser = PostgreSQLParser
            self.syntax_error_listener = SyntaxErrorListener()
            self.set_query(query)  # empties what the SLL attempt collected
            self.process_query()
