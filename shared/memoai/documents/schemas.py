"""What an extraction returns, and the limits it runs under."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # the extraction process imports this module and needs no configuration
    from memoai.config import Settings

DetectedType = Literal["pdf", "docx", "text"]

# Multipart framing around the file (boundaries, part headers) on top of the
# file's own limit: the request body may be this much larger than the file.
MULTIPART_ALLOWANCE = 64 * 1024


class ExtractionWarning(BaseModel):
    """Something the writer should check before submitting; the text is still usable."""

    code: str = Field(examples=["pdf_pages_without_text"])
    message: str
    details: dict[str, Any] | None = None


class Extracted(BaseModel):
    """The text of an upload, normalised so that comment offsets refer to exactly this text."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "TO: Executive Team\n\nWe request $1.2M to extend remote "
                    "monitoring to 600 patients by July.",
                    "filename": "remote-monitoring.docx",
                    "detected_type": "docx",
                    "char_count": 91,
                    "warnings": [],
                }
            ]
        }
    )

    text: str = Field(description="Submit this as text_content; offsets refer to it.")
    filename: str = Field(description="The uploaded file's name, without any folder.")
    detected_type: DetectedType = Field(description="From the content, not the extension.")
    char_count: int = Field(description="Unicode code points, as MAX_TEXT_LENGTH counts them.")
    warnings: list[ExtractionWarning] = []


@dataclass(frozen=True)
class Limits:
    """Bounds of one extraction: the file, the text it yields, and the wall-clock time."""

    max_bytes: int = 5 * 1024 * 1024
    max_chars: int = 10_000
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        limits = settings.security.input_validation
        return cls(
            max_bytes=limits.max_upload_size,
            max_chars=limits.max_text_length,
            timeout=limits.upload_extraction_timeout,
        )

    @property
    def request_body(self) -> int:
        """The largest request body that can carry a file within `max_bytes`."""
        return self.max_bytes + MULTIPART_ALLOWANCE
