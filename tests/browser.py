"""Look at the bot's markdown as GitHub shows it: cmarkgfm, GitHub's CSS, headless Chromium.

GitHub shows an issue or PR comment body about 1012 px wide in a ~1280 px
window; a table wider than the body gets a scroll bar and hides columns. This
renders markdown the way GitHub does (tests/gfm.py), styles it with the pinned
`github-markdown-css` (scripts/package.json, installed into .cache/actionlint by
`scripts/view-check` or `npm ci --prefix .cache/actionlint`), and has Chromium
measure each table's and code block's scroll width against its visible width.

Used by tests/test_view_width.py (skipped when Chromium or the CSS is absent)
and by scripts/view-check (widths, page sizes and screenshots for a person).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.gfm import to_html

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / ".cache/actionlint/node_modules/github-markdown-css/github-markdown-light.css"
WIDTH = 1012  # GitHub's comment body at a ~1280 px window, its 16 px padding included
PADDING = 16
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

_MEASURE = """<script>
window.addEventListener('load', () => {
  const found = [...document.querySelectorAll('article')].map(a => ({
    id: a.id,
    body: a.clientWidth,
    height: a.scrollHeight,
    boxes: [...a.querySelectorAll('table, pre')].map(t => [t.tagName.toLowerCase(),
      t.scrollWidth, t.clientWidth]),
  }));
  const out = document.createElement('pre');
  out.id = 'grader-widths';
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""


@dataclass(frozen=True)
class Box:
    kind: str  # "table" or "pre"
    scroll: int  # px the content needs
    client: int  # px shown

    @property
    def fits(self) -> bool:
        return self.scroll <= self.client


@dataclass(frozen=True)
class Measured:
    name: str
    chars: int
    height: int
    boxes: tuple[Box, ...]

    @property
    def fits(self) -> bool:
        return all(b.fits for b in self.boxes)


def chromium() -> str | None:
    return next((p for n in CHROMIUM_NAMES if (p := shutil.which(n))), None)


def available() -> str:
    """Why the browser check cannot run here, or "" when it can."""
    if chromium() is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    if not CSS.is_file():
        return (
            "github-markdown-css is not installed: cp scripts/package*.json .cache/actionlint/ "
            "&& npm ci --prefix .cache/actionlint"
        )
    return ""


def document(pages: dict[str, str]) -> str:
    """One HTML page holding each markdown body as a GitHub comment of WIDTH px."""
    css = CSS.read_text(encoding="utf-8")
    frame = (
        "body{margin:0;background:#fff} article.markdown-body{box-sizing:border-box;"
        f"width:{WIDTH}px;padding:{PADDING}px;border-bottom:4px solid #d1d9e0}}"
        "#grader-widths{display:none}"
    )
    articles = "".join(
        f'<article class="markdown-body" id="{html.escape(name)}">{to_html(md)}</article>'
        for name, md in pages.items()
    )
    return f"<!doctype html><meta charset=utf-8><style>{css}\n{frame}</style>{articles}{_MEASURE}"


def _run(args: list[str], timeout: float = 180) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return done.stdout


def _flags(profile: Path, height: int) -> list[str]:
    binary = chromium()
    if binary is None:
        raise RuntimeError(available())
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{height}",
    ]


def measure(
    pages: dict[str, str], screenshot: Path | None = None, shoot: str | None = None
) -> list[Measured]:
    """Chromium's widths for every table and code block of every page.

    With `screenshot`, also a PNG (the top 3000 px) of page `shoot`, default the first.
    """
    with tempfile.TemporaryDirectory(prefix="grader-view-") as tmp:
        path = Path(tmp) / "page.html"
        path.write_text(document(pages), encoding="utf-8")
        dom = _run([*_flags(Path(tmp) / "profile", 3000), "--dump-dom", path.as_uri()])
        if screenshot is not None:
            name = shoot or next(iter(pages))
            path.write_text(document({name: pages[name]}), encoding="utf-8")
            _run([*_flags(Path(tmp) / "shot", 3000), f"--screenshot={screenshot}", path.as_uri()])
    found = re.search(r'<pre id="grader-widths">(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError("Chromium printed no measurements: " + dom[:300])
    data = json.loads(html.unescape(found.group(1)))
    return [
        Measured(
            name=item["id"],
            chars=len(pages[item["id"]]),
            height=item["height"],
            boxes=tuple(Box(k, s, c) for k, s, c in item["boxes"]),
        )
        for item in data
    ]
