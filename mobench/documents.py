"""Stored documents: written atomically (write, fsync, rename), read as data only, and the
provenance every result carries (hardware, versions, git commit, time, command line), with
every secret of a storage URL masked wherever a URL or a command line is shown or stored."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from mobench.errors import UsageError


def write_json(path: str | os.PathLike, document: dict[str, Any]) -> Path:
    """Write `document` so that a crash leaves either the old file or the new one, never half."""
    text = json.dumps(document, indent=2, sort_keys=False, allow_nan=False, default=str)
    return write_text(path, text + "\n")


def write_text(path: str | os.PathLike, content: str) -> Path:
    """Write atomically (temporary file, fsync, rename), with the permissions the process umask
    gives a new file (mkstemp alone makes 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- storage URLs and command lines, their secrets hidden -------------------------------
#
# The one parser (SQLAlchemy's `make_url`) and masker every message, document field and
# log line goes through. A secret is a URL's userinfo password (`user:PASSWORD@host`) or
# the value of a query parameter whose name, in any case and percent-decoded, says
# password, pwd, secret or token (`?password=`, `?PASSWORD=`, `?pass%77ord=`): shown as ***.

MASK = "***"
URL_START = re.compile(r"[A-Za-z][\w+.-]*://")
URL_IN_TEXT = re.compile(r"[A-Za-z][\w+.-]*://[^\s'\"]+")  # ends at a space or a quote
SECRET_NAME = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)
QUERY_ITEM = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")


def is_secret_name(name: str) -> bool:
    """Whether a query parameter (percent-encoded or not) names a secret."""
    return bool(SECRET_NAME.search(unquote_plus(name)))


def parse_url(url: str):
    """SQLAlchemy's URL of `url`; a password written with a raw `@` (which `make_url` splits
    at its first `@`, leaving the rest in the host or database, e.g.
    `postgresql://u:p/a@ss@host/db`) ends at the last `@` before the query instead."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.password is None or "@" not in f"{parsed.host or ''}{parsed.database or ''}":
        return parsed
    head, _, rest = url.partition("://")
    main, q, query = rest.rpartition("?") if parsed.query else (rest, "", "")
    userinfo, _, location = main.rpartition("@")
    user, _, password = userinfo.partition(":")
    return make_url(f"{head}://{quote(unquote(user), safe='')}:"
                    f"{quote(unquote(password), safe='')}@{location}{q}{query}")


def hide_password(url: str) -> str:
    """`url` with every secret shown as ***. A URL without one (journal, sqlite, a file path)
    is returned unchanged; one that does not parse is masked by its shape: everything between
    `://` and the last `@` is hidden, and every secret query value."""
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = parse_url(url)
    except (ArgumentError, ValueError, TypeError):
        head, sep, rest = url.partition("://")
        main, q, query = rest.partition("?")
        if sep and "@" in main:
            main = f"{MASK}@{main.rpartition('@')[2]}"
        return _mask_query(f"{head}{sep}{main}{q}{query}")
    secret_keys = [k for k in parsed.query if is_secret_name(k)]
    if parsed.password is None and not secret_keys:
        return url
    if secret_keys:
        parsed = parsed.update_query_dict({k: MASK for k in secret_keys}, append=False)
    # SQLAlchemy percent-encodes the mask in a query value
    return parsed.render_as_string(hide_password=True).replace(quote_plus(MASK), MASK)


def _mask_query(text: str) -> str:
    return QUERY_ITEM.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if is_secret_name(m[2]) else m[0],
                          text)


def url_secrets(url: str) -> set[str]:
    """The secrets in `url`, raw and percent-encoded as a driver may echo them."""
    try:
        parsed = parse_url(url)
        raw = [parsed.password or ""] + [v for k, v in parsed.query.items()
                                         if is_secret_name(k)
                                         for v in ([v] if isinstance(v, str) else v)]
    except Exception:  # unparsable: the query's secret values, as written
        raw = [unquote_plus(m[3]) for m in QUERY_ITEM.finditer(url) if is_secret_name(m[2])]
    return {form for value in raw if value
            for form in (value, quote(value, safe=""), quote_plus(value))}


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error message) with `url` shown masked and none of its secrets."""
    text = text.replace(url, hide_password(url))
    for secret in sorted(url_secrets(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def hide_passwords(text: str) -> str:
    """`text` (a message) with every URL in it masked; a URL ends at white space or a quote
    here, so a command line is masked argument by argument instead (`command_line`)."""
    return URL_IN_TEXT.sub(lambda m: hide_password(m.group(0)), text)


def hide_in_argument(argument: str) -> str:
    """One command-line argument (`URL`, `--storage=URL`) masked: the URL runs to the
    argument's end, spaces in its password included."""
    match = URL_START.search(argument)
    if match is None:
        return argument
    return argument[:match.start()] + hide_password(argument[match.start():])


def command_line(argv: Sequence[str]) -> str:
    """The command as a shell would take it back, every URL argument masked."""
    return shlex.join(hide_in_argument(str(a)) for a in argv)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; a missing or corrupt file is a UsageError naming it and why."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise UsageError(f"{path}: JSON nested too deeply to be a mobench document") from None


@functools.cache
def mobench_version() -> str:
    """The installed mobench's version (from the package metadata, which the build reads from
    `mobench/__init__.py`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mobench")
    except PackageNotFoundError:
        return "unknown"


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout holding mobench (or `start`), '+dirty' when modified."""
    where = start or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=where, capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}+dirty" if dirty.strip() else sha


def provenance(fingerprint: dict[str, Any], seed: int, **extra: Any) -> dict[str, Any]:
    """Everything a reader needs to reproduce or compare a result."""
    document = {
        "mobench_version": mobench_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command_line(sys.argv),
        "git_commit": git_commit(),
        "seed": seed,
        "hardware_id": fingerprint.get("hardware_id"),
        "hardware": fingerprint,
        **extra,
    }
    # a command given as text (a worker's) is masked again: its URLs end at white space
    document["command"] = hide_passwords(str(document["command"]))
    return document
