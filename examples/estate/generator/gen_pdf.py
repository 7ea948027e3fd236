"""A tiny PDF writer: text-only pages in the standard Type1 Helvetica fonts, no dependencies.

Enough for a runbook exported to PDF: headings, wrapped paragraphs and indented command lines.
The output is PDF 1.4 with uncompressed content streams and a correct cross-reference table,
so any PDF reader (pypdf included) extracts the text.
"""

from __future__ import annotations

import textwrap

PAGE_W, PAGE_H = 612, 792  # US Letter, points
MARGIN = 72
STYLES = {"h1": ("F2", 18, 26), "h2": ("F2", 13, 22), "p": ("F1", 10.5, 14), "code": ("F1", 9.5, 13)}
WRAP = {"h1": 50, "h2": 70, "p": 92, "code": 96}
_ASCII = {"—": "-", "–": "-", "→": "->", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "×": "x"}


def _ascii(text: str) -> str:
    out = "".join(_ASCII.get(ch, ch) for ch in text)
    return out.encode("ascii", "replace").decode("ascii")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _layout(blocks: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split styled lines into pages: each page is a list of (style, line)."""
    pages: list[list[tuple[str, str]]] = [[]]
    y = PAGE_H - MARGIN
    for style, text in blocks:
        lines: list[str] = []
        for raw in text.splitlines() or [""]:
            if style == "code":
                lines.extend(textwrap.wrap(raw, WRAP[style], subsequent_indent="    ", drop_whitespace=False) or [""])
            else:
                lines.extend(textwrap.wrap(raw, WRAP[style]) or [""])
        leading = STYLES[style][2]
        needed = leading * len(lines) + (8 if style in ("h1", "h2") else 0)
        if y - needed < MARGIN and pages[-1]:
            pages.append([])
            y = PAGE_H - MARGIN
        for line in lines:
            if y - leading < MARGIN:
                pages.append([])
                y = PAGE_H - MARGIN
            pages[-1].append((style, line))
            y -= leading
        pages[-1].append(("gap", ""))
        y -= 6
    return pages


def _content(lines: list[tuple[str, str]], page_no: int, total: int) -> bytes:
    out = ["BT"]
    y = PAGE_H - MARGIN
    for style, line in lines:
        if style == "gap":
            y -= 6
            continue
        font, size, leading = STYLES[style]
        x = MARGIN + (18 if style == "code" else 0)
        out.append(f"/{font} {size} Tf 1 0 0 1 {x} {y - size:.1f} Tm ({_escape(_ascii(line))}) Tj")
        y -= leading
    out.append(f"/F1 8 Tf 1 0 0 1 {PAGE_W / 2 - 20} 40 Tm (Page {page_no} of {total}) Tj")
    out.append("ET")
    return ("\n".join(out) + "\n").encode("ascii")


def render_pdf(title: str, blocks: list[tuple[str, str]]) -> bytes:
    """A PDF of ``blocks`` ((style, text) with style h1, h2, p or code)."""
    pages = _layout(blocks)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # pages, filled below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        (
            f"<< /Title ({_escape(_ascii(title))}) /Producer (Larkspur estate generator) /CreationDate (D:20261101090000Z) >>"
        ).encode(),
    ]
    kids = []
    for i, lines in enumerate(pages, start=1):
        stream = _content(lines, i, len(pages))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
        content_ref = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
            f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content_ref} 0 R >>".encode()
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
