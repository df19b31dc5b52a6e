"""The multipart reader now lives in memoai.platform.multipart (documents use it too)."""

from memoai.platform.multipart import file_field

__all__ = ["file_field"]
