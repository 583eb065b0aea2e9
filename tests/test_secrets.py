"""No storage secret in any output: every form a password can take in a URL, against every
place a URL is printed or stored (the mask, messages, the tune console and its errors, the
run document's `storage` and `provenance.command`)."""

from __future__ import annotations

import json
import sys

import pytest

from mobench.cli import main
from mobench.documents import command_line, hide_password, hide_passwords, provenance, scrub
from mobench.study.storages import normalize_url, redact

SECRET = "S3CR3T"
UNREACHABLE = "127.0.0.1:1"  # nothing listens: the driver's own error is printed
# (URL, the password as the driver reads it); no part of it may be shown
FORMS = {
    "userinfo": (f"postgresql://me:{SECRET}@{UNREACHABLE}/db", SECRET),
    "query": (f"postgresql://me@{UNREACHABLE}/db?password={SECRET}", SECRET),
    "query upper case": (f"postgresql://me@{UNREACHABLE}/db?PASSWORD={SECRET}", SECRET),
    "query name encoded": (f"postgresql://me@{UNREACHABLE}/db?pass%77ord={SECRET}", SECRET),
    "query among others": (f"postgresql://me@{UNREACHABLE}/db?sslmode=disable&password="
                           f"{SECRET}&application_name=x", SECRET),
    "query value encoded": (f"postgresql://me@{UNREACHABLE}/db?password=a%20{SECRET}",
                            f"a {SECRET}"),
    "space": (f"postgresql://me:pa {SECRET}@{UNREACHABLE}/db", f"pa {SECRET}"),
    "space in query": (f"postgresql://me@{UNREACHABLE}/db?password=pa {SECRET}",
                       f"pa {SECRET}"),
    "raw @": (f"postgresql://me:p@{SECRET}@{UNREACHABLE}/db", f"p@{SECRET}"),
    "%40": (f"postgresql://me:p%40{SECRET}@{UNREACHABLE}/db", f"p@{SECRET}"),
}
WITHOUT_SPACE = [k for k in FORMS if " " not in FORMS[k][0]]
JOURNAL = "journal:///tmp/mobench-test/a@b:c.log"  # a file path: no secret, shown as it is


@pytest.mark.parametrize("form", FORMS)
def test_the_mask_hides_every_form_and_keeps_the_rest(form):
    url, password = FORMS[form]
    for shown in (hide_password(url), redact(url), redact(normalize_url(url, "x")),
                  scrub(f"driver said: {url} failed ({password})", url)):
        assert SECRET not in shown, shown
        assert UNREACHABLE in shown and "***" in shown, shown
    assert "sslmode=disable" in hide_password(FORMS["query among others"][0])


@pytest.mark.parametrize("form", FORMS)
def test_a_command_line_is_masked_argument_by_argument(form, monkeypatch):
    url, _ = FORMS[form]
    argv = ["mobench", "tune", "s", "--storage", url, f"--storage={url}", "--json", "a@b/x.json"]
    command = command_line(argv)
    assert SECRET not in command and "a@b/x.json" in command
    monkeypatch.setattr(sys, "argv", argv)
    assert SECRET not in json.dumps(provenance({}, 0))
    # a worker's command, given as text, is masked again
    assert SECRET not in provenance({}, 0, command=command)["command"]


@pytest.mark.parametrize("form", WITHOUT_SPACE)
def test_urls_in_free_text_are_masked(form):
    url, _ = FORMS[form]
    assert SECRET not in hide_passwords(f"storage {url} and '{url}' are away")


def test_a_journal_path_holds_no_secret_and_is_shown_as_it_is():
    assert hide_password(JOURNAL) == JOURNAL == redact(JOURNAL)
    assert command_line(["mobench", "--storage", JOURNAL]).endswith(JOURNAL)


@pytest.mark.parametrize("form", FORMS)
def test_tune_console_and_errors_hold_no_secret(form, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url, _ = FORMS[form]
    monkeypatch.setattr(sys, "argv", ["mobench", "tune", "mnist-mlp", "--storage", url])
    assert main(["tune", "mnist-mlp", "--storage", url, "--storage-retry", "1"]) == 2
    captured = capsys.readouterr()
    assert "cannot be opened" in captured.err and UNREACHABLE in captured.err
    assert SECRET not in captured.out + captured.err
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1


# a password in the query of an SQLite URL is ignored by the driver: a study runs with it,
# so the run document and the command in its provenance can be read back
QUERY_FORMS = {"query": "password={}", "query upper case": "PASSWORD={}",
               "query name encoded": "pass%77ord={}", "space in query": "password=pa {}"}


@pytest.mark.slow
@pytest.mark.parametrize("form", QUERY_FORMS)
def test_the_tune_document_holds_no_secret(form, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/s.db?" + QUERY_FORMS[form].format(SECRET)
    out = tmp_path / "run.json"
    argv = ["tune", "mnist-mlp", "--strategy", "random", "--dataset", "digits", "--limit", "64",
            "--trials", "1", "--storage", url, "--json", str(out)]
    monkeypatch.setattr(sys, "argv", ["mobench", *argv])
    assert main(argv) == 0
    captured = capsys.readouterr()
    text = out.read_text()
    document = json.loads(text)
    assert document["provenance"]["storage"].endswith("=***")
    assert "--storage" in document["provenance"]["command"]
    assert SECRET not in text + captured.out + captured.err
