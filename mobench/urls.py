"""Storage URLs and command lines with their secrets hidden: the one parser (SQLAlchemy's
`make_url`) and masker every message, document field and log line goes through.

A secret is a URL's userinfo password (`user:PASSWORD@host`) or the value of a query parameter
whose name, in any case and percent-decoded, says password, pwd, secret or token
(`?password=...`, `?PASSWORD=...`, `?pass%77ord=...`). It is shown as `***`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from urllib.parse import quote, quote_plus, unquote, unquote_plus

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
