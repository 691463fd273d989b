"""Paged SS 12000 list files: ``{"data": [...], "pageToken": ...}``, one file per page.

Each resource has a folder named after its API endpoint (``persons``, ``calendarEvents``…) with
``page-000001.json``, ``page-000002.json``, … The ``pageToken`` of a page names the next page
(its file stem), and is ``null`` on the last, so a reader can follow the chain as it would
follow the API's. Files are written to a temporary name and renamed, so a page is either
complete or absent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import orjson

SMALL_PAGE_SIZE = 2000


def page_name(number: int) -> str:
    return f"page-{number:06d}"


def write_page(folder: Path, number: int, records_text: str, last: bool) -> int:
    """Write one page whose records are already JSON text separated by ``,\\n``."""
    token = "null" if last else f'"{page_name(number + 1)}"'
    body = "\n" + records_text + "\n" if records_text else ""
    text = f'{{"data":[{body}],"pageToken":{token}}}\n'.encode()
    path = folder / f"{page_name(number)}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(text)
    os.replace(tmp, path)
    return len(text)


def write_small_resource(
    folder: Path, records: Iterable[dict[str, object]]
) -> tuple[int, int, int]:
    """Write records in pages of ``SMALL_PAGE_SIZE``; returns (records, pages, bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages: list[list[str]] = [[]]
    for record in records:
        if len(pages[-1]) == SMALL_PAGE_SIZE:
            pages.append([])
        pages[-1].append(orjson.dumps(record).decode())
    written = 0
    for i, lines in enumerate(pages, start=1):
        written += write_page(folder, i, ",\n".join(lines), last=i == len(pages))
    return sum(len(p) for p in pages), len(pages), written
