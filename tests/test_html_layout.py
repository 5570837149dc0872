"""The HTML document as a reader sees it: each section's equation chain lined up at its relation signs, wide
formulas scrolling inside their own box on a phone-sized screen (never clipped, never widening the page),
operator spacing and italics as in the PDF. The page has no script: the measurements run in a harness page
of the test's own, which loads the document in an iframe, in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from derivation.document import build
from derivation.loader import loads
from derivation.render import _typeset_row, crosscheck_records, render, render_text
from derivation.verify import verify

from conftest import ARITIES, GLOROT_TEXT

IN_CI = bool(os.environ.get("CI"))
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None and not IN_CI, reason="chromium not installed")

# Runs in the harness, never in the document: per section, the x of each step's relation sign (its first = or
# ≈ outside the prose, limits and fractions); per formula, whether it fits the viewport or sits in a box that
# scrolls and fits it; per label of the network figure, whether it lies inside the figure.
HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="f" src="{src}" style="border:0; width:{width}px; height:900px"></iframe>
<pre id="result">pending</pre><script>
window.addEventListener('load', () => {{
  const w = document.getElementById('f').contentWindow, d = w.document, root = d.documentElement;
  const view = root.clientWidth, sections = [];
  let current = null;
  for (const node of d.body.querySelectorAll('h2, [id]')) {{
    if (node.tagName === 'H2') {{ current = []; sections.push(current); continue; }}
    const sign = [...node.querySelectorAll('mo')].find(mo => ['=', '\\u2248'].includes(mo.textContent.trim())
                                                     && !mo.closest('.note, p, td, munderover, mfrac, msub, msup, msubsup'));
    if (current && sign) current.push([node.id, sign.getBoundingClientRect().left]);
  }}
  const scroller = m => {{ for (let e = m.parentElement; e && e !== d.body; e = e.parentElement) {{
      const o = w.getComputedStyle(e).overflowX; if (o === 'auto' || o === 'scroll') return e; }} return null; }};
  const formulas = [...d.querySelectorAll('math')].map(m => {{
    const r = m.getBoundingClientRect(), box = scroller(m), b = box && box.getBoundingClientRect();
    return {{fits: r.left >= -0.5 && r.right <= view + 0.5, scrolls: !!box && box.scrollWidth > box.clientWidth,
             boxFits: !!box && b.left >= -0.5 && b.right <= view + 0.5, sized: r.width > 0 && r.height > 0}};
  }});
  const labels = [...d.querySelectorAll('.net .lab')].map(l => {{
    const r = l.getBoundingClientRect(), b = l.parentElement.getBoundingClientRect();
    return {{inside: r.left >= b.left - 0.5 && r.right <= b.right + 0.5 && r.top >= b.top - 0.5
                     && r.bottom <= b.bottom + 0.5, sized: r.width > 0 && r.height > 0}};
  }});
  document.getElementById('result').textContent = 'RESULT=' + JSON.stringify({{
    pageScroll: root.scrollWidth, view, sections: sections.filter(s => s.length), formulas, labels}});
}});
</script></body></html>"""


def measure(page, width, tmp_path) -> dict:
    probe = tmp_path / f"probe-{page.stem}-{width}.html"
    probe.write_text(HARNESS.format(src=page.resolve().as_uri(), width=width), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files"]
    dom = subprocess.run([shutil.which("chromium"), *flags, "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = re.search(r"RESULT=(.*?)</pre>", dom, re.S)
    assert found, dom[-1000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    glorot = loads(GLOROT_TEXT, "glorot.toml", ARITIES, name="glorot")
    (out / "ok").mkdir()                        # with the cross-check's table, as after `crosscheck --out`
    (out / "ok" / "crosscheck.json").write_text(json.dumps(crosscheck_records()), encoding="utf-8")
    render(verify(glorot), ["html"], out / "ok")
    render(verify(glorot, "sigmoid"), ["html"], out / "failing")
    return {"ok": out / "ok" / "glorot.html", "failing": out / "failing" / "glorot.html"}


def test_mathml_spacing_and_italics(pages):
    html = pages["ok"].read_text(encoding="utf-8")
    times = "<mo>&#8290;</mo>"
    assert f"{times}<mrow><mi>Var</mi>" not in html                     # n Var[W], not nVar[W]
    assert f'{times}<mspace width="0.1667em"/><mrow><mi>Var</mi>' in html
    assert "<mi>f&#8242;</mi>" not in html and "<mi>f′</mi>" not in html   # f′ italic, like f
    assert "<mi>f</mi><mo>&#8242;</mo>" in html
    assert "<mtext>f(" not in html                                       # the checked facts are mathematics too
    assert "<script" not in html.lower()


def test_a_long_variable_name_is_italic_like_a_short_one():
    doc = build(verify(loads(GLOROT_TEXT, "glorot.toml", ARITIES, name="glorot")))
    row = _typeset_row({"framework": "f", "initialiser": "i", "formula": "gain*sqrt(6/(fan_in + fan_out))",
                        "gain": "1", "match": True, "heuristic": False})
    html = render_text(doc, "html", {"crosscheck": [row]})
    assert "<mi>gain</mi>" not in html and "<mi>&#119892;&#119886;&#119894;&#119899;</mi>" in html


@needs_chromium
@pytest.mark.parametrize("which", ["ok", "failing"])
def test_chains_line_up_and_scroll_in_their_box_on_a_phone(pages, tmp_path, which):
    result = measure(pages[which], 420, tmp_path)
    assert result["pageScroll"] <= result["view"]                        # the page never scrolls sideways
    formulas = result["formulas"]
    assert len(formulas) > 100 and all(f["sized"] for f in formulas)
    clipped = [f for f in formulas if not f["fits"] and not (f["scrolls"] and f["boxFits"])]
    assert clipped == []                                                 # too wide: it scrolls in a box on screen
    assert len(result["labels"]) == 9 and all(l["inside"] and l["sized"] for l in result["labels"])   # the figure's
    assert any(f["scrolls"] for f in formulas)                           # (and some are too wide at 420 px)
    sections = result["sections"]
    assert [len(s) for s in sections] == [7, 7, 4]                       # F0-F6, B0-B6, D1-D4
    for steps in sections:
        xs = {round(x, 1) for _, x in steps}
        assert len(xs) == 1, steps                                       # every = and ≈ of a chain lines up


@needs_chromium
def test_nothing_scrolls_on_a_desktop_screen(pages, tmp_path):
    result = measure(pages["ok"], 1200, tmp_path)
    assert result["pageScroll"] <= result["view"]
    assert not any(f["scrolls"] for f in result["formulas"])
    assert all(f["fits"] for f in result["formulas"])
    assert len(result["labels"]) == 9 and all(l["inside"] for l in result["labels"])
