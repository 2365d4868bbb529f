"""spicadb-drs: the DRS's command to push reduced OIFITS files to SPICA-DB.

    spicadb-drs push PATH... [options]

Files and directories (searched recursively for *.fits, *.fit, *.oifits, *.fts, any case; dot files and
dot folders are left out) are pushed one after the other to ``POST /oifits/files``, streamed from disk.
Each file's sha256 is computed first: a file the journal lists for this server, or that the server
already has (``GET /oifits/files?sha256=``), is not sent again, so a rerun after a crash resumes where it
stopped. Connection errors, 408, 429 and 5xx are retried with exponential backoff and jitter
(Retry-After honoured on 429 and 503); other 4xx are not.

Exit status: 0 every file is on the server (pushed or already there); 1 some were refused (each
refusal is printed with the rules it broke); 2 usage or credential error; 3 the server stayed
unreachable (retries exhausted): rerun to resume.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import authlib.deprecate  # noqa: F401  (installs its "always" filter first, so ours below wins)
import httpx
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 package and warns when it falls back to httpx (what we pin)
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

PROG = "spicadb-drs"
SUFFIXES = (".fits", ".fit", ".oifits", ".fts")
DEFAULT_URL = "http://127.0.0.1:8000"
SECRET_ENV = "SPICADB_DRS_CLIENT_SECRET"
TOKEN_ENV = "SPICADB_DRS_TOKEN"
DATA_JOURNAL = "drs-journal.jsonl"  # in the data folder
LOCAL_JOURNAL = ".spicadb-drs-journal.jsonl"  # in the pushed folder, when there is no data folder
CHUNK = 1024 * 1024
MAX_BACKOFF = 60.0  # seconds: the longest wait between two attempts of our own choosing
MAX_RETRY_AFTER = 600.0  # seconds: the longest Retry-After obeyed
TOKEN_LEEWAY = 30  # seconds: a token this close to its expiry is fetched again
TIMEOUT = httpx.Timeout(300.0, connect=10.0)  # the server indexes a file before it answers
PRODUCT_CHARS = re.compile(r"[^A-Za-z0-9._:/+-]")

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

T = TypeVar("T")


class UsageError(Exception):
    """Bad arguments or credentials: exit 2 before or instead of pushing."""


class GaveUp(Exception):
    """The server stayed unreachable or failing through every retry."""


class TryAgain(Exception):
    """An answer worth another attempt (408, 429, 5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(_reason(response))
        self.response = response


class FileChanged(Exception):
    """The file became shorter while it was being sent."""


# --- options --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    paths: tuple[Path, ...]
    url: str
    token: str | None
    client_id: str
    client_secret: str | None
    issuer: str | None  # where the token endpoint is discovered (the credentials file's issuer)
    product: str | None
    product_from_name: bool
    calib_level: int | None
    profile: str | None
    retries: int
    backoff: float
    journal: Path | None
    quiet: bool


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push", help="push OIFITS files and directories")
    push.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a file or a directory")
    push.add_argument(
        "--url", help=f"the gateway (default: endpoints.json of the data folder, else {DEFAULT_URL})"
    )
    push.add_argument("--client-id", default="drs", help="the robot client (default: drs)")
    push.add_argument(
        "--client-secret", help=f"its secret (default: ${SECRET_ENV}, else the credentials file)"
    )
    push.add_argument("--credentials", type=Path, help="credentials.json (default: the data folder's)")
    push.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV) or None,
        help=f"a bearer token to use instead of client credentials (default: ${TOKEN_ENV})",
    )
    product = push.add_mutually_exclusive_group()
    product.add_argument("--product", help="the DRS product id of the one file pushed (supersedes its last)")
    product.add_argument(
        "--product-from-name",
        action="store_true",
        help="product id = the file's path inside the pushed directory, without its suffix",
    )
    push.add_argument("--calib-level", type=int, choices=range(4), metavar="{0..3}")
    push.add_argument("--profile", choices=("archive", "drs"), help="validation profile (server default)")
    push.add_argument("--retries", type=_count, default=6, help="retries of a failing request (default 6)")
    push.add_argument("--backoff", type=_seconds, default=1.0, help="first retry delay, seconds (default 1)")
    push.add_argument("--journal", type=Path, help="the journal of pushed files (see the README)")
    push.add_argument("--quiet", action="store_true", help="no progress bar nor line per file")
    return parser


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _data_folder() -> Path:
    return Path(os.environ.get("SPICADB_DATA", ".spicadb"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path} is not a JSON object")
    return value


def _gateway_url(data: Path) -> str:
    endpoints = data / "endpoints.json"
    if endpoints.is_file():
        url = _read_json(endpoints).get("gateway", {}).get("url")
        if isinstance(url, str) and url:
            return url
    return DEFAULT_URL


def _client_entry(credentials: dict[str, Any], client_id: str) -> dict[str, Any]:
    """The credentials file's entry of ``client_id`` (by key or by its client_id)."""
    for key, entry in (credentials.get("clients") or {}).items():
        if isinstance(entry, dict) and client_id in (key, entry.get("client_id")):
            return entry
    return {}


def resolve(args: argparse.Namespace) -> Options:
    """The options in force: the command line, then the environment, then the data folder's files."""
    data = _data_folder()
    url = (args.url or _gateway_url(data)).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url must be an http(s) URL, not {url!r}")
    credentials_file = args.credentials or data / "credentials.json"
    credentials: dict[str, Any] = {}
    if args.credentials is not None or credentials_file.is_file():
        credentials = _read_json(credentials_file)
    entry = _client_entry(credentials, args.client_id)
    secret = args.client_secret or os.environ.get(SECRET_ENV) or entry.get("client_secret")
    if args.token is None and not secret:
        raise UsageError(
            f"no client secret for {args.client_id}: give --client-secret, set {SECRET_ENV}, "
            f"or --credentials FILE (make run writes {data / 'credentials.json'}), or --token"
        )
    return Options(
        paths=tuple(args.paths),
        url=url,
        token=args.token,
        client_id=str(entry.get("client_id") or args.client_id),
        client_secret=secret,
        issuer=credentials.get("issuer"),
        product=args.product,
        product_from_name=args.product_from_name,
        calib_level=args.calib_level,
        profile=args.profile,
        retries=args.retries,
        backoff=args.backoff,
        journal=args.journal or _default_journal(data, args.paths),
        quiet=args.quiet,
    )


def _default_journal(data: Path, paths: Sequence[Path]) -> Path:
    """The data folder's journal when there is one (the platform's machine), else one in the pushed folder."""
    if data.is_dir():
        return data / DATA_JOURNAL
    first = paths[0]
    return (first if first.is_dir() else first.parent) / LOCAL_JOURNAL


# --- files ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    path: Path
    shown: str  # as the user named it: the argument, then the path inside a directory
    size: int
    product: str | None


def collect(paths: Sequence[Path], product: str | None, from_name: bool) -> list[Candidate]:
    """Every file to push, in a stable order, each once."""
    found: list[Candidate] = []
    seen: set[Path] = set()
    for root in paths:
        if root.is_dir():
            pairs = [(p, p.relative_to(root)) for p in _walk(root)]
        elif root.is_file():
            pairs = [(root, Path(root.name))]
        else:
            raise UsageError(f"{root}: no such file or directory")
        for path, inside in pairs:
            if (key := path.resolve()) in seen:
                continue
            seen.add(key)
            named = product_of(inside) if from_name else product
            found.append(Candidate(path, str(path), path.stat().st_size, named))
    if product and len(found) > 1:
        raise UsageError("--product names one product: push one file with it (or use --product-from-name)")
    return found


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(SUFFIXES):
                yield Path(folder) / name


def product_of(inside: Path) -> str:
    """The product id of a file from its path inside the pushed directory, without the suffix:
    ``2026-05-14/HD1_LR.fits`` is ``2026-05-14/HD1_LR``; characters a product id cannot hold become ``_``."""
    text = PRODUCT_CHARS.sub("_", inside.with_suffix("").as_posix())
    return text.lstrip("._:/+-")[:200] or "product"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- journal --------------------------------------------------------------------------------------------


class Journal:
    """What was pushed, one JSON line per file (server URL, sha256, file id), appended and synced as each
    file lands, so that a rerun after a crash skips them without asking the server. A torn last line
    is ignored."""

    def __init__(self, path: Path | None, url: str) -> None:
        self.path = path
        self.url = url
        self.known: dict[str, str] = {}
        self.problem: str | None = None

    def load(self) -> Journal:
        if self.path is None or not self.path.is_file():
            return self
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("url") == self.url and entry.get("sha256"):
                self.known[str(entry["sha256"])] = str(entry.get("file_id", ""))
        return self

    def record(self, sha256: str, file_id: str, item: Candidate) -> None:
        self.known[sha256] = file_id
        if self.path is None:
            return
        entry = {"url": self.url, "sha256": sha256, "file_id": file_id, "size": item.size,
                 "path": str(item.path), "at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as stream:
                stream.write(json.dumps(entry) + "\n")
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as exc:  # pushing goes on; a rerun asks the server instead
            self.problem = f"the journal {self.path} cannot be written ({exc}); pushing goes on without it"
            self.path = None


# --- output ---------------------------------------------------------------------------------------------


class Output:
    """What the person or the CI log sees: a line per file, a progress bar (bytes over all files, the
    current file) on a terminal only, errors on stderr, and the summary."""

    def __init__(self, quiet: bool, total: int) -> None:
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)
        self.quiet = quiet
        self.total = total
        self.done = 0  # bytes of the files finished
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        if not quiet and self.console.is_terminal:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,  # the bar goes at the end; the lines and the summary stay
            )

    def __enter__(self) -> Output:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def current(self, item: Candidate, doing: str) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=f"{doing} {escape(item.shown)}", completed=self.done)

    def advance(self, size: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, size)

    def finished(self, item: Candidate) -> None:
        self.done += item.size
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=self.done)

    def line(self, text: str) -> None:
        if not self.quiet:
            self.console.print(text, markup=False)

    def error(self, text: str) -> None:
        self.errors.print(text, markup=False)

    def summary(self, text: str) -> None:
        self.console.print(text, markup=False)


# --- retries --------------------------------------------------------------------------------------------


def retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 or 503 asks to wait (delta-seconds or an HTTP date), None when it does not say."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_delay(attempt: int, base: float, response: httpx.Response | None = None) -> float:
    """The wait before retry ``attempt`` (0 first): the server's Retry-After when it gives one, else
    exponential with jitter (half fixed, half random, so that clients restarted together spread out)."""
    asked = retry_after(response) if response is not None else None
    if asked is not None:
        return min(asked, MAX_RETRY_AFTER)
    ceiling = min(MAX_BACKOFF, base * 2.0 ** min(attempt, 30))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def retrying(call: Callable[[], Awaitable[T]], what: str, options: Options, out: Output) -> T:
    """``call`` again after connection errors and retryable answers, up to ``options.retries`` times."""
    attempt = 0
    while True:
        try:
            return await call()
        except (httpx.TransportError, TryAgain) as exc:
            reason = str(exc) or type(exc).__name__
            if attempt >= options.retries:
                raise GaveUp(f"{what}: {reason} (gave up after {attempt + 1} attempts)") from exc
            wait = backoff_delay(
                attempt, options.backoff, exc.response if isinstance(exc, TryAgain) else None
            )
            out.line(f"retry    {what} in {wait:.1f} s: {reason}")
            await asyncio.sleep(wait)
            attempt += 1


def _reason(response: httpx.Response) -> str:
    detail = _problem(response).get("detail")
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else f" {response.reason_phrase}")


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- tokens ---------------------------------------------------------------------------------------------


class Tokens:
    """Bearer tokens: the one given, or client credentials fetched with authlib when first needed and
    fetched again when they near their expiry (robots get no refresh token) or the server refuses one."""

    def __init__(self, options: Options, out: Output) -> None:
        self.options = options
        self.out = out
        self.oauth: AsyncOAuth2Client | None = None
        self.endpoint: str | None = None
        if options.token is None:
            self.oauth = AsyncOAuth2Client(options.client_id, options.client_secret, timeout=TIMEOUT)
            self.oauth.register_compliance_hook("access_token_response", _token_answer)

    async def header(self) -> dict[str, str]:
        if self.oauth is None:
            return {"Authorization": f"Bearer {self.options.token}"}
        token = self.oauth.token
        if not token or token.is_expired(leeway=TOKEN_LEEWAY):
            await self._fetch()
        return {"Authorization": f"Bearer {self.oauth.token['access_token']}"}

    async def renew(self) -> bool:
        """After a 401: a new token when one can be had (False with a given token)."""
        if self.oauth is None:
            return False
        await self._fetch()
        return True

    async def _fetch(self) -> None:
        assert self.oauth is not None
        oauth = self.oauth
        endpoint = self.endpoint or await self._discover()
        try:
            await retrying(
                lambda: oauth.fetch_token(endpoint, grant_type="client_credentials"),
                "token",
                self.options,
                self.out,
            )
        except OAuthError as exc:
            raise UsageError(
                f"the token endpoint {endpoint} refused client {self.options.client_id}: "
                f"{exc.error}" + (f" ({exc.description})" if exc.description else "")
            ) from None
        except (ValueError, KeyError) as exc:  # an answer that is no OAuth token response
            raise UsageError(f"the token endpoint {endpoint} gave no token: {exc}") from None

    async def _discover(self) -> str:
        """The token endpoint from the issuer's OpenID configuration, else <url>/oauth/token."""
        assert self.oauth is not None
        issuer = (self.options.issuer or self.options.url).rstrip("/")
        endpoint = f"{self.options.url}/oauth/token"
        try:
            discovery = f"{issuer}/.well-known/openid-configuration"
            answer = await self.oauth.request("GET", discovery, withhold_token=True)
            if answer.status_code == 200:
                endpoint = str(answer.json().get("token_endpoint") or endpoint)
        except (httpx.HTTPError, ValueError, AttributeError):
            pass  # not reachable yet: the fetch retries on the default endpoint
        self.endpoint = endpoint
        return endpoint

    async def close(self) -> None:
        if self.oauth is not None:
            await self.oauth.aclose()


def _token_answer(response: httpx.Response) -> httpx.Response:
    """authlib's hook on token answers: a busy or failing endpoint is retried, not taken for a refusal."""
    if retryable(response.status_code):
        raise TryAgain(response)
    return response


# --- pushing --------------------------------------------------------------------------------------------

Kind = Literal["pushed", "there", "refused"]


@dataclass
class Tally:
    pushed: int = 0
    there: int = 0
    refused: int = 0
    left: int = 0
    sent: int = 0  # bytes of the files pushed
    started: float = field(default_factory=time.monotonic)
    stopped: int | None = None  # the exit status of a run stopped early (unreachable, credentials)

    def stop(self, exc: Exception, left: int) -> None:
        self.stopped = EXIT_USAGE if isinstance(exc, UsageError) else EXIT_UNREACHABLE
        self.left = left

    def exit_code(self) -> int:
        if self.stopped is not None:
            return self.stopped
        return EXIT_REFUSED if self.refused else EXIT_OK

    def line(self) -> str:
        text = f"pushed {self.pushed}, already there {self.there}, refused {self.refused}"
        if self.left:
            text += f", not pushed {self.left} (rerun to resume)"
        elapsed = time.monotonic() - self.started
        return f"{text}; {decimal(self.sent)} sent in {elapsed:.1f} s"


class Pusher:
    """Pushes candidates one after the other with one HTTP client, the journal and the tokens."""

    def __init__(self, options: Options, journal: Journal, out: Output) -> None:
        self.options = options
        self.journal = journal
        self.out = out
        self.http = httpx.AsyncClient(base_url=options.url, timeout=TIMEOUT)
        self.tokens = Tokens(options, out)

    async def __aenter__(self) -> Pusher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.tokens.close()
        await self.http.aclose()

    async def push_all(self, items: Sequence[Candidate]) -> Tally:
        tally = Tally()
        for index, item in enumerate(items):
            try:
                kind = await self.push_one(item)
            except (GaveUp, UsageError) as exc:
                tally.stop(exc, len(items) - index)
                self.out.error(f"failed   {item.shown}: {exc}")
                break
            self.out.finished(item)
            tally.pushed += kind == "pushed"
            tally.there += kind == "there"
            tally.refused += kind == "refused"
            tally.sent += item.size if kind == "pushed" else 0
        return tally

    async def push_one(self, item: Candidate) -> Kind:
        self.out.current(item, "hashing")
        sha256 = await asyncio.to_thread(sha256_of, item.path)
        if sha256 in self.journal.known:
            self.out.line(f"already  {item.shown}  (journal: file {self.journal.known[sha256]})")
            return "there"
        if file_id := await self._lookup(sha256):
            self.journal.record(sha256, file_id, item)
            self.out.line(f"already  {item.shown}  (on the server: file {file_id})")
            return "there"
        self.out.current(item, "pushing")
        return await self._upload(item, sha256)

    async def _lookup(self, sha256: str) -> str | None:
        """The server's file with this content, if any. One attempt: when it fails the push goes on,
        since the server itself answers 200 to content it has."""
        headers = await self.tokens.header()
        try:
            answer = await self.http.get("/oifits/files", params={"sha256": sha256}, headers=headers)
        except httpx.TransportError:
            return None
        items = _problem(answer).get("items") if answer.status_code == 200 else None
        return str(items[0]["id"]) if isinstance(items, list) and items else None

    async def _upload(self, item: Candidate, sha256: str) -> Kind:
        try:
            answer = await retrying(lambda: self._attempt(item), item.shown, self.options, self.out)
            if answer.status_code == 401 and await self.tokens.renew():
                answer = await retrying(lambda: self._attempt(item), item.shown, self.options, self.out)
        except FileChanged as exc:
            return self._refused(item, [str(exc)])
        return self._outcome(item, sha256, answer)

    async def _attempt(self, item: Candidate) -> httpx.Response:
        self.out.current(item, "pushing")  # back to the file's start after a failed attempt
        headers = {
            **await self.tokens.header(),
            "Content-Type": "application/fits",
            "Content-Length": str(item.size),  # httpx then sends the body as it is, not chunked
        }
        answer = await self.http.post(
            "/oifits/files", params=self._params(item), headers=headers, content=self._chunks(item)
        )
        if retryable(answer.status_code):
            raise TryAgain(answer)
        return answer

    def _params(self, item: Candidate) -> dict[str, str]:
        params = {"filename": item.path.name}
        optional = {"product": item.product, "calib_level": self.options.calib_level,
                    "profile": self.options.profile}  # fmt: skip
        params.update({k: str(v) for k, v in optional.items() if v is not None})
        return params

    async def _chunks(self, item: Candidate) -> AsyncIterator[bytes]:
        """The file from disk a chunk at a time (never whole in memory), exactly the size announced."""
        sent = 0
        with item.path.open("rb") as stream:
            while sent < item.size:
                chunk = await asyncio.to_thread(stream.read, min(CHUNK, item.size - sent))
                if not chunk:
                    raise FileChanged(
                        f"the file became shorter while it was pushed ({sent} of {item.size} bytes)"
                    )
                sent += len(chunk)
                self.out.advance(len(chunk))
                yield chunk

    def _outcome(self, item: Candidate, sha256: str, answer: httpx.Response) -> Kind:
        if answer.status_code in (401, 403):
            raise UsageError(
                f"the server refused the credentials ({_reason(answer)}); pushing needs oifits:push"
            )
        if answer.status_code not in (200, 201):
            return self._refused(item, refusal(answer))
        record = _problem(answer)
        if "id" not in record:
            return self._refused(
                item, [f"HTTP {answer.status_code} but no file record: is {self.options.url} SPICA-DB?"]
            )
        if record.get("sha256") != sha256:
            return self._refused(
                item, ["the file changed while it was pushed: push it again once it is written"]
            )
        self.journal.record(sha256, str(record["id"]), item)
        if answer.status_code == 200:
            self.out.line(f"already  {item.shown}  (on the server: file {record['id']})")
            return "there"
        size = decimal(item.size)
        self.out.line(f"pushed   {item.shown}  {size}  file {record['id']} ({record.get('verdict', '?')})")
        return "pushed"

    def _refused(self, item: Candidate, lines: list[str]) -> Kind:
        self.out.error(f"refused  {item.shown}: {lines[0]}")
        for text in lines[1:]:
            self.out.error(f"         {text}")
        return "refused"


def refusal(answer: httpx.Response) -> list[str]:
    """What to tell about a refused push: the problem's detail, then each finding that refused the file
    (rule, location, message) or each wrong parameter."""
    problem = _problem(answer)
    lines = [f"{problem.get('detail') or answer.reason_phrase} (HTTP {answer.status_code})"]
    findings = (problem.get("report") or {}).get("findings") or []
    for finding in findings:
        if isinstance(finding, dict) and finding.get("severity") == "error":
            where = f" at {finding['location']}" if finding.get("location") else ""
            lines.append(f"{finding.get('rule')}{where}: {finding.get('message')}")
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            lines.append(f"{error.get('field')}: {error.get('message')}")
    return lines


# --- the command ----------------------------------------------------------------------------------------


async def push(options: Options) -> int:
    items = collect(options.paths, options.product, options.product_from_name)
    journal = Journal(options.journal, options.url).load()
    with Output(options.quiet, sum(i.size for i in items)) as out:
        async with Pusher(options, journal, out) as pusher:
            tally = await pusher.push_all(items)
    if journal.problem:
        out.error(journal.problem)
    out.summary(tally.line())
    return tally.exit_code()


async def amain(argv: Sequence[str] | None = None) -> int:
    """The command, in the caller's event loop; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error argparse has printed (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return await push(resolve(args))
    except UsageError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"{PROG}: {exc}", markup=False)
        return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return asyncio.run(amain(argv))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; run it again to resume", file=sys.stderr)
        return 130
