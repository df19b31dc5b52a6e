"""Memo AI Coach: code shared by the API, the worker and the web service."""

__version__ = "0.1.0"
