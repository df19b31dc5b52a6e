"""Text from uploaded documents (.docx, .pdf, .txt, .md), bounded in size, time and memory.

Knows nothing of other domains: the API's upload route and the CLI call
`extract_bytes` / `extract_file` and get an `Extracted` or a DocumentError.
"""

from memoai.documents.errors import DocumentError
from memoai.documents.schemas import Extracted, ExtractionWarning, Limits
from memoai.documents.service import extract_bytes, extract_file

__all__ = [
    "DocumentError",
    "Extracted",
    "ExtractionWarning",
    "Limits",
    "extract_bytes",
    "extract_file",
]
