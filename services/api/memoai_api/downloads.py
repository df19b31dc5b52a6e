"""File downloads that are not JSON: the CSV gradebooks."""

from __future__ import annotations

from fastapi import Response


class CsvResponse(Response):
    media_type = "text/csv"
    charset = "utf-8"


def csv_response(filename: str, text: str) -> CsvResponse:
    # The file name is ours (ASCII, no quotes), never the user's title.
    return CsvResponse(text, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
