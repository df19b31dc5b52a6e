"""File downloads that are not JSON: the CSV gradebooks."""

from __future__ import annotations

from fastapi import Response

CSV = "text/csv"


class CsvResponse(Response):
    # No class-level media type: FastAPI would document the errors (JSON
    # envelopes) as text/csv too. The 200's text/csv is declared per route.
    charset = "utf-8"


def csv_response(filename: str, text: str) -> CsvResponse:
    # The file name is ours (ASCII, no quotes), never the user's title.
    return CsvResponse(
        text,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
