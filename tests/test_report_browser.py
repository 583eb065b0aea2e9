"""The report in a real browser: headless Chromium renders the fixtures' report.

Checked: no console errors, every <img> decodes (naturalWidth > 0), the summary is the first
section, the provenance table is inside a closed <details>; and, for the Quick start's
results at 1280x800, that nothing in the summary scrolls sideways and that everything before
the folded reference section fits in 8 screens, and that the strategy recommendation (its
heading and its sentences) is on the first screen. The page ships without scripts; the test
injects a probe into a copy: one script at the top of <head> that records uncaught errors,
one at the end of <body> that writes its findings into a <pre> read back with --dump-dom.
Skipped, with the reason, when `chromium` is not on PATH (CI installs it: .ci/run).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mobench.report.build import build_report

FIXTURES = Path(__file__).parent / "fixtures" / "results"
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not on PATH (Debian: apt-get install chromium; "
    ".ci/run installs it when it can)")

ERRORS = ("<script>window.__errors=[];window.addEventListener('error',function(e){"
          "window.__errors.push(String(e.message||e.type))},true);</script>")
PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var prov = document.getElementById('provenance');
  var det = prov ? prov.querySelector('details') : null;
  var first = document.querySelector('main > section');
  var out = {images: imgs.length,
             broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                         .map(function (i) { return i.alt; }),
             first: first ? first.id : null, details: !!det, open: det ? det.open : null,
             table_in_details: !!(det && det.querySelector('table')),
             table_visible: !!(det && det.querySelector('table') &&
                               det.querySelector('table').checkVisibility()),
             errors: window.__errors};
  var pre = document.createElement('pre');
  pre.id = 'mobench-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""
CONSOLE = re.compile(r"Uncaught|ERROR:CONSOLE|:CONSOLE\(\d+\)")
# layout at the window's size: the page's and the summary's widths, how far each table of the
# summary would scroll sideways, and where the reference section starts
LAYOUT = """<script>
window.addEventListener('load', function () {
  var summary = document.getElementById('summary');
  var reference = document.getElementById('reference');
  var wraps = summary ? Array.prototype.slice.call(summary.querySelectorAll('.table-wrap')) : [];
  var top = function (e) { return e.getBoundingClientRect().top + window.scrollY; };
  var heads = summary ? Array.prototype.slice.call(summary.querySelectorAll('h3')) : [];
  var advice = heads.filter(function (h) {
    return h.textContent.indexOf('Which strategy') === 0; })[0];
  var sentence = advice;
  while (sentence && sentence.nextElementSibling && sentence.nextElementSibling.tagName === 'P') {
    sentence = sentence.nextElementSibling;
  }
  var out = {inner_width: window.innerWidth, inner_height: window.innerHeight,
             page_width: document.documentElement.scrollWidth,
             summary_width: summary ? summary.scrollWidth : null,
             summary_client: summary ? summary.clientWidth : null,
             summary_right: summary ? summary.getBoundingClientRect().right : null,
             table_overflow: wraps.map(function (w) { return w.scrollWidth - w.clientWidth; }),
             tables: wraps.length,
             before_reference: reference ? top(reference) : null,
             advice_top: advice ? top(advice) : null,
             advice_bottom: sentence ? top(sentence) + sentence.offsetHeight : null,
             height: document.documentElement.scrollHeight};
  var pre = document.createElement('pre');
  pre.id = 'mobench-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""
SCREEN = (1280, 800)
QUICKSTART = Path(__file__).parent / "fixtures" / "quickstart" / "results"
SHIPPED = Path(__file__).resolve().parents[1] / "results"


def chromium(page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
         f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=10000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=180)


def probe(html: str, tmp: Path, script: str = PROBE, *args: str) -> tuple[dict, list[str]]:
    """The probe's findings and the console-error lines of Chromium's log."""
    page = tmp / "probed.html"
    page.write_text(html.replace("<head>", "<head>" + ERRORS, 1)
                    .replace("</body>", script + "</body>", 1))
    done = chromium(page, tmp, "--dump-dom", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="mobench-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the probe did not run: {done.stdout[-500:]} {done.stderr[-1500:]}"
    import html as html_module

    console = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    return json.loads(html_module.unescape(found.group(1))), console


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("browser")
    build_report([FIXTURES], out, formats=["html"])
    return out, (out / "report.html").read_text()


def test_report_renders_in_chromium(report_html, tmp_path):
    out, html = report_html
    found, console = probe(html, tmp_path)
    assert console == [] and found["errors"] == []
    assert found["images"] == 7 and found["broken"] == []
    assert found["first"] == "summary"
    assert found["details"] and found["open"] is False and found["table_in_details"]
    assert not found["table_visible"]  # folded: the 12-column table takes no room
    shot = out / "report.png"
    done = chromium(out / "report.html", tmp_path, "--window-size=1280,2000",
                    f"--screenshot={shot}")
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG")


def test_the_probe_sees_broken_images_and_errors(report_html, tmp_path):
    _, html = report_html
    broken = html.replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1)
    broken = broken.replace("</main>", "<script>undefinedFunction()</script></main>", 1)
    found, console = probe(broken, tmp_path)
    assert len(found["broken"]) == 1 and found["errors"]
    assert console  # Chromium logged the uncaught error too


def layout(html: str, tmp: Path) -> dict:
    found, console = probe(html, tmp, LAYOUT, f"--window-size={SCREEN[0]},{SCREEN[1]}")
    assert console == [] and found["inner_width"] == SCREEN[0]
    return found


@pytest.fixture(scope="module")
def quickstart_html(tmp_path_factory) -> tuple[Path, str]:
    """The report the Quick start writes: its profile, tuning run and comparison (a real run,
    kept in tests/fixtures/quickstart) with the reference data shipped in results/."""
    out = tmp_path_factory.mktemp("quickstart")
    build_report([QUICKSTART, SHIPPED], out, formats=["html"])
    return out, (out / "report.html").read_text()


def test_quickstart_summary_fits_1280_and_comes_before_8_screens(quickstart_html, tmp_path):
    out, html = quickstart_html
    found = layout(html, tmp_path)
    assert found["tables"] >= 2  # the configurations to pick, the best strategy
    assert found["page_width"] <= SCREEN[0]
    assert found["summary_width"] <= found["summary_client"]
    assert found["summary_right"] <= SCREEN[0]
    assert max(found["table_overflow"]) <= 0  # no table of the summary scrolls sideways
    assert found["before_reference"] is not None  # the reference data is there, folded
    assert found["before_reference"] <= 8 * SCREEN[1], found
    # the recommendation and its sentences are on the first screen
    assert found["advice_top"] is not None and found["advice_bottom"] <= SCREEN[1], found
    shot = out / "top.png"  # what a reader sees first
    done = chromium(out / "report.html", tmp_path, f"--window-size={SCREEN[0]},{SCREEN[1]}",
                    f"--screenshot={shot}")
    assert done.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG")


def test_a_long_config_wraps_in_the_summary(tmp_path):
    """A config of many long values (1000+ px on one line) wraps under its objective values."""
    doc = json.loads((FIXTURES / "runs" / "tune-mnist-mlp-3obj.json").read_text())
    params = {f"hyperparameter_number_{k}": f"a_long_categorical_value_{k}" * 2
              for k in range(12)}
    for t in doc["trials"]:
        t["params"] = {**t["params"], **params}
    (tmp_path / "tune.json").write_text(json.dumps(doc))
    build_report([tmp_path / "tune.json"], tmp_path / "out", formats=["html"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert len(" ".join(f"{k}={v}" for k, v in params.items())) > 600  # chars
    found = layout(html, tmp_path)
    assert found["page_width"] <= SCREEN[0] and max(found["table_overflow"]) <= 0
