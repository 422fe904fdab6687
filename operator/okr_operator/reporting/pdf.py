"""HTML to PDF with headless Chromium (Debian's ``chromium``), A4 as the stylesheet says.

Chromium rather than a Python HTML-to-PDF library: it lays out the same page
people see in the browser (grid, SVG, print CSS) without a second rendering
engine to keep in step. It runs with a fresh profile and everything that would
reach the network off, and is killed when it does not finish in time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120


class PdfError(RuntimeError):
    """Chromium is missing or did not produce the PDF; the message says which."""


def find_chromium() -> str:
    """The Chromium binary: ``$OKR_CHROMIUM``, else the first of CHROMIUM_NAMES on PATH."""
    configured = os.environ.get("OKR_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(
        "--format pdf needs Chromium: install Debian's chromium (hack/tools.sh apt does) "
        "or set OKR_CHROMIUM to its path"
    )


def html_to_pdf(html: str, *, chromium: str | None = None) -> bytes:
    """Print ``html`` (a self-contained page) to PDF bytes."""
    binary = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="okr-report-") as work:
        page, out, profile = Path(work, "report.html"), Path(work, "report.pdf"), Path(work, "p")
        page.write_text(html, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",  # runs as root in containers and CI, where the sandbox cannot start
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: PLW1510 - the return code is checked below
                command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the PDF within {TIMEOUT_SECONDS} s") from None
        except OSError as err:
            raise PdfError(f"cannot run Chromium ({binary}): {err}") from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise PdfError(f"Chromium exited {done.returncode} without a PDF: {tail}")
        return out.read_bytes()
