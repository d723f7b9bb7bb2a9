"""Certificate PDFs: one A4 landscape page per student; the only importer of fpdf2.

Display names are the student's own text and may hold anything: scripts
written right to left, emoji, control characters, 255 characters. Nothing of
that may break the page or spoof it:

- Text is drawn with DejaVu Sans when the system has it (Debian's
  `fonts-dejavu-core`, present on our machines and GitHub's runners), with
  HarfBuzz shaping so Arabic joins and right-to-left runs read in order.
  Without it, the PDF core fonts are used, which know only Latin-1; the name
  is transliterated (e with an accent becomes e).
- Control and format characters (bidirectional overrides among them) are
  dropped; symbols the font lacks (most emoji) are dropped; when letters the
  font lacks remain (a CJK name without a CJK font), the login is printed
  instead of a row of boxes. The login is printed under the name anyway: it
  is what `grader verify` reports.
- A long name shrinks, then wraps to two lines, then is cut with an ellipsis.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from fpdf.fonts import TTFFont

from grader.core.certcode import IssuedCertificate

__all__ = [
    "FontSet",
    "certificate_pdf",
    "find_fonts",
    "printable_text",
    "write_certificates",
]

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
LOGIN = re.compile(r"[a-z0-9][a-z0-9-]{0,38}")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ and ZWJ shape Persian and Indic words
# Latin letters with no decomposition to a base letter, for the Latin-1 core fonts.
LATIN_BASE = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",
        "Œ": "OE",
        "œ": "oe",
    }
)
PAGE_W, MARGIN = 297.0, 22.0
WIDTH = PAGE_W - 2 * MARGIN
Covered = Callable[[str], bool]


@dataclass(frozen=True)
class FontSet:
    """Unicode TrueType fonts: regular, bold, monospace."""

    regular: Path
    bold: Path
    mono: Path


def find_fonts(dirs: Iterable[str] = FONT_DIRS) -> FontSet | None:
    """DejaVu from the first folder that has all three files; None: use core fonts."""
    for folder in dirs:
        paths = [Path(folder) / name for name in FONT_FILES]
        if all(path.is_file() for path in paths):
            return FontSet(*paths)
    return None


def write_certificates(
    out_dir: Path,
    issued: Iterable[IssuedCertificate],
    display_names: Mapping[str, str | None] | None = None,
    fonts: FontSet | None = None,
) -> list[Path]:
    """`OUT/<login>.pdf` for each certificate; `display_names` maps login -> GitHub name.

    `fonts` defaults to what `find_fonts` finds (core fonts when it finds none).
    """
    fonts = fonts or find_fonts()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for cert in issued:
        login = cert.facts.login
        if not LOGIN.fullmatch(login):  # a file name from the ledger: never a path
            raise ValueError(f"{login!r} is not a GitHub login; the ledger entry is damaged")
        path = out_dir / f"{login}.pdf"
        name = (display_names or {}).get(login)
        path.write_bytes(certificate_pdf(cert, name, fonts=fonts))
        written.append(path)
    return written


def certificate_pdf(
    cert: IssuedCertificate, display_name: str | None, *, fonts: FontSet | None
) -> bytes:
    """The one-page certificate; `fonts=None` draws with the PDF core fonts."""
    page = _Page(fonts)
    facts = cert.facts
    page.doc.set_title(f"Certificate of Completion: {page.text(facts.course, '?')}")
    page.doc.set_subject(f"Verification code {cert.code}")
    page.doc.set_creation_date(datetime.combine(facts.awarded, time(), UTC))
    name = printable_text(display_name or "", page.covered) or facts.login
    page.line(page.text(facts.course, "?"), 18, y=30, bold=False, smallest=11, lines=2)
    page.line("Certificate of Completion", 34, y=52, bold=True)
    page.line("This certifies that", 14, y=76, bold=False)
    page.line(name, 30, y=88, bold=True, smallest=14, lines=2)
    page.line("" if name == facts.login else f"@{facts.login}", 12, bold=False, gap=2, grey=True)
    page.line(_achievement(cert), 14, y=128, bold=False, lines=2)
    page.line(f"Awarded on {_long_date(cert)}", 12, bold=False, gap=3)
    page.code(cert.code, y=163)
    page.line(
        f'To check it, run "grader verify {cert.code}" in a clone of the course repository.',
        10,
        bold=False,
        gap=2,
        grey=True,
    )
    return bytes(page.doc.output())


def _achievement(cert: IssuedCertificate) -> str:
    facts = cert.facts
    plural = "" if facts.counted == 1 else "s"
    done = f"has completed {facts.complete} of {facts.counted} assignment{plural}"
    return done + (" and presented the final project." if facts.project else ".")


def _long_date(cert: IssuedCertificate) -> str:
    day = cert.facts.awarded
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --- untrusted text -------------------------------------------------------------


def printable_text(text: str, covered: Covered, placeholder: str | None = None) -> str:
    """`text` with what cannot be drawn safely removed; "" when letters would be lost.

    Format characters (bidi overrides, zero-width spaces) could make the name
    read as something else and are dropped; a letter the font lacks is
    replaced by its unaccented base letter when the font has that, else by
    `placeholder`, or when there is none the whole text is given up on (the
    caller prints the login instead).
    """
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if category[0] == "Z" or ch in "\t\n\r\v\f":
            kept.append(" ")
        elif category[0] == "C" and ch not in KEEP_FORMAT:
            continue
        elif covered(ch) or ch in KEEP_FORMAT:
            kept.append(ch)
        else:
            substitute = _base_letters(ch, covered)
            if substitute is None:
                if placeholder is None:
                    return ""
                substitute = placeholder
            kept.append(substitute)
    return " ".join("".join(kept).split())


def _base_letters(ch: str, covered: Covered) -> str | None:
    """The covered parts of `ch`'s decomposition; "" for a symbol; None for a lost letter."""
    decomposed = unicodedata.normalize("NFKD", ch).translate(LATIN_BASE)
    parts = [c for c in decomposed if unicodedata.category(c)[0] != "M"]
    if parts and all(covered(c) for c in parts):
        return "".join(parts)
    return None if unicodedata.category(ch)[0] in "LN" else ""


# --- drawing --------------------------------------------------------------------


class _Page:
    """One landscape A4 page with centred lines of text, top to bottom."""

    def __init__(self, fonts: FontSet | None) -> None:
        doc = FPDF(orientation="landscape", format="A4", unit="mm")
        doc.set_auto_page_break(auto=False)
        doc.set_margins(MARGIN, MARGIN, MARGIN)
        doc.set_creator("grader")
        doc.add_page()
        self.doc = doc
        self.unicode = fonts is not None
        self.family, self.mono = self._fonts(fonts)
        self.glyphs: set[int] = self._glyphs()
        self._frame()

    def _fonts(self, fonts: FontSet | None) -> tuple[str, str]:
        if fonts is None:
            return "helvetica", "courier"
        self.doc.add_font("dejavu", "", fonts.regular)
        self.doc.add_font("dejavu", "B", fonts.bold)
        self.doc.add_font("dejavumono", "", fonts.mono)
        if _shaping_available():
            self.doc.set_text_shaping(True)
        return "dejavu", "dejavumono"

    def _glyphs(self) -> set[int]:
        if not self.unicode:
            return set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))  # Latin-1
        return self._cmap("") & self._cmap("B")

    def _cmap(self, style: str) -> set[int]:
        self.doc.set_font(self.family, style, 12)
        font = self.doc.current_font
        return set(font.cmap) if isinstance(font, TTFFont) else set()

    def covered(self, ch: str) -> bool:
        return ord(ch) in self.glyphs

    def text(self, value: str, placeholder: str) -> str:
        """Maintainer text (the course name): a lost letter becomes `placeholder`."""
        return printable_text(value, self.covered, placeholder)

    @property
    def ellipsis(self) -> str:
        return "\u2026" if self.covered("\u2026") else "..."

    def _frame(self) -> None:
        self.doc.set_draw_color(60, 60, 90)
        self.doc.set_line_width(1.2)
        self.doc.rect(10, 10, PAGE_W - 20, 190)
        self.doc.set_line_width(0.3)
        self.doc.rect(13, 13, PAGE_W - 26, 184)

    def line(
        self,
        text: str,
        size: float,
        *,
        bold: bool,
        y: float | None = None,
        gap: float = 0,
        smallest: float | None = None,
        lines: int = 1,
        grey: bool = False,
    ) -> None:
        """Centre `text`, shrinking it down to `smallest`, then wrapping to `lines` lines."""
        style = "B" if bold else ""
        self.doc.set_text_color(*((110, 110, 110) if grey else (20, 20, 40)))
        size = self._fitting_size(text, style, size, smallest or size)
        if y is not None:
            self.doc.set_y(y)
        self.doc.set_y(self.doc.get_y() + gap)
        height = size * 0.45
        text = self._cut(text, height, lines)
        self.doc.multi_cell(WIDTH, height, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def _fitting_size(self, text: str, style: str, largest: float, smallest: float) -> float:
        size = largest
        self.doc.set_font(self.family, style, size)
        while size > smallest and self.doc.get_string_width(text) > WIDTH:
            size = max(smallest, size - 1)
            self.doc.set_font_size(size)
        return size

    def _cut(self, text: str, height: float, lines: int) -> str:
        """The longest prefix of `text` (plus an ellipsis) that wraps to at most `lines`."""
        if self._line_count(text, height) <= lines:
            return text
        low, high = 0, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if self._line_count(text[:middle].rstrip() + self.ellipsis, height) <= lines:
                low = middle
            else:
                high = middle - 1
        return text[:low].rstrip() + self.ellipsis

    def _line_count(self, text: str, height: float) -> int:
        wrapped = self.doc.multi_cell(
            WIDTH, height, text, align=Align.C, dry_run=True, output=MethodReturnValue.LINES
        )
        return len(wrapped) if isinstance(wrapped, list) else 1

    def code(self, code: str, *, y: float) -> None:
        self.doc.set_y(y)
        self.doc.set_text_color(110, 110, 110)
        self.doc.set_font(self.family, "", 10)
        self.doc.cell(
            WIDTH, 5, "Verification code", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.doc.set_text_color(20, 20, 40)
        self.doc.set_font(self.mono, "", 18)
        self.doc.cell(WIDTH, 10, code, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _shaping_available() -> bool:
    """HarfBuzz shaping (uharfbuzz) orders right-to-left runs and joins Arabic letters."""
    return importlib.util.find_spec("uharfbuzz") is not None
