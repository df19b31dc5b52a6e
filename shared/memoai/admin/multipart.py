"""Read one file field out of a multipart/form-data body with the standard library.

Only the bulk import takes an upload, so this avoids a multipart dependency.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP

from memoai.platform.errors import MemoError


def file_field(content_type: str, body: bytes, field: str) -> bytes:
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
                return payload
    raise MemoError(
        f"Send the archive in the form field {field!r}.", field=field, code="bad_upload"
    )
