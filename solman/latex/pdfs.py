"""Reading PDFs back with poppler: the digest stamped in them, their text, their pages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

DIGEST_KEY = "SolmanDigest"
PROVENANCE_NAME = "solman-provenance.json"


def read_info(pdf: Path, custom: bool = False) -> dict[str, str]:
    """What pdfinfo says of ``pdf`` (with ``custom``, the document information dictionary)."""
    result = subprocess.run(["pdfinfo", *(["-custom"] if custom else []), str(pdf)], capture_output=True,
                            text=True, errors="replace", check=False)
    if result.returncode != 0:
        return {}
    info = {}
    for line in result.stdout.splitlines():
        key, sep, rest = line.partition(":")
        if sep:
            info[key.strip()] = rest.strip()
    return info


def read_digest(pdf: Path) -> str | None:
    """The solman digest stamped in ``pdf``, or None for a PDF solman did not make."""
    digest = read_info(pdf, custom=True).get(DIGEST_KEY)
    return digest if digest and re.fullmatch(r"[0-9a-f]{64}", digest) else None


def pdf_text(pdf: Path) -> str:
    """The text of ``pdf``, as pdftotext extracts it."""
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                            errors="replace", check=False)
    return result.stdout


def page_count(pdf: Path) -> int:
    pages = read_info(pdf).get("Pages", "0")
    return int(pages) if pages.isdigit() else 0


def read_provenance(pdf: Path) -> dict | None:
    """The provenance solman embedded in ``pdf``, or None when there is none (not a solman PDF)."""
    listing = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, text=True,
                             errors="replace", check=False)
    number = re.search(rf"^(\d+): {re.escape(PROVENANCE_NAME)}$", listing.stdout, flags=re.M)
    if listing.returncode != 0 or not number:
        return None
    # to stdout: nothing is written anywhere, not even a temporary file
    saved = subprocess.run(["pdfdetach", "-save", number[1], "-o", "/dev/stdout", str(pdf)], capture_output=True,
                           check=False)
    if saved.returncode != 0:
        return None
    try:
        provenance = json.loads(saved.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return provenance if isinstance(provenance, dict) and provenance.get("solman") == "provenance" else None
