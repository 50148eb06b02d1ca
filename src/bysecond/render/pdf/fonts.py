"""The DejaVu fonts the PDF is drawn with, read from the machine's font files.

The same families as the web view's stylesheet (DejaVu Sans, Sans Mono, Sans Condensed).
They are embedded in every PDF (subsets of the glyphs used), which PDF/A requires and
which makes the PDF read the same on any machine. Nothing is fetched from the network:
a missing file stops rendering with the name of the package that provides it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# The names the drawing code uses, and the file of each.
SANS: Final = "DejaVuSans"
SANS_BOLD: Final = "DejaVuSans-Bold"
MONO: Final = "DejaVuSansMono"
CONDENSED: Final = "DejaVuSansCondensed"
CONDENSED_BOLD: Final = "DejaVuSansCondensed-Bold"
_FILES: Final = {
    SANS: "DejaVuSans.ttf",
    SANS_BOLD: "DejaVuSans-Bold.ttf",
    MONO: "DejaVuSansMono.ttf",
    CONDENSED: "DejaVuSansCondensed.ttf",
    CONDENSED_BOLD: "DejaVuSansCondensed-Bold.ttf",
}
# Where distributions install them (Debian/Ubuntu, Fedora, Arch, Alpine, macOS Homebrew).
FONT_DIRECTORIES: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu-sans-mono-fonts"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
    Path("/opt/homebrew/share/fonts"),
)


class FontsMissing(RuntimeError):
    """The DejaVu font files are not installed, so no PDF can be drawn."""


def _find(file_name: str) -> Path | None:
    return next(
        (folder / file_name for folder in FONT_DIRECTORIES if (folder / file_name).is_file()),
        None,
    )


@cache
def register_fonts() -> None:
    """Loads the fonts once per process (about 40 ms); later calls do nothing."""
    found = {name: _find(file_name) for name, file_name in _FILES.items()}
    missing = sorted(_FILES[name] for name, path in found.items() if path is None)
    if missing:
        raise FontsMissing(
            f"the invoice PDF needs the DejaVu fonts, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed in any of "
            f"{', '.join(map(str, FONT_DIRECTORIES))}; on Debian or Ubuntu: "
            "apt-get install fonts-dejavu-core fonts-dejavu-extra"
        )
    for name, path in found.items():
        pdfmetrics.registerFont(TTFont(name, str(path)))
