"""Read one file field out of a multipart/form-data body with the standard library.

Uploads are few (configuration bulk import, documents for text extraction) and
bodies are bounded by the ASGI middleware before they get here, so this avoids
a multipart dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from memoai.platform.errors import MemoError


@dataclass(frozen=True)
class FilePart:
    filename: str | None
    data: bytes


def file_part(content_type: str, body: bytes, field: str) -> FilePart:
    """The field's bytes and the file name the client gave (None if it gave none)."""
    if "boundary=" not in content_type:
        raise MemoError("The multipart body has no boundary.", field=field, code="bad_upload")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise MemoError("The multipart body could not be read.", field=field, code="bad_upload")
    for part in message.iter_parts():
        assert isinstance(part, Message)
        if part.get_param("name", header="content-disposition") == field:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return FilePart(_filename(part), payload)
    raise MemoError(f"Send the file in the form field {field!r}.", field=field, code="bad_upload")


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    if name is None:
        return None
    # Browsers send UTF-8 in the quoted name; the parser keeps undecodable bytes
    # as surrogates, which are turned back into bytes and decoded properly here.
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return name


def file_field(content_type: str, body: bytes, field: str) -> bytes:
    return file_part(content_type, body, field).data
