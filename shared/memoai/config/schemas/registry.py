"""Which schema validates which file, and how the files are grouped.

Owns ``FILE_SCHEMAS`` (file name without ``.yaml`` to its top-level model;
start-up, `memoai config check` and the admin editor all validate with it),
the business/system split (``BUSINESS_FILES`` hot-reload, ``SYSTEM_FILES``
need a restart) and the five admin editor ``CATEGORIES``.
"""

from __future__ import annotations

from memoai.config.schemas.auth import AuthFile
from memoai.config.schemas.backend import BackendFile
from memoai.config.schemas.business import ContextFile, FrameworksFile, PromptFile, RubricFile
from memoai.config.schemas.common import Strict
from memoai.config.schemas.database import DatabaseFile
from memoai.config.schemas.frontend import FrontendFile
from memoai.config.schemas.llm import LlmFile
from memoai.config.schemas.observability import LoggingFile, MonitoringFile
from memoai.config.schemas.performance import PerformanceFile
from memoai.config.schemas.security import SecurityFile

BUSINESS_FILES = ("rubric", "frameworks", "context", "prompt")
SYSTEM_FILES = (
    "auth",
    "security",
    "frontend",
    "backend",
    "database",
    "llm",
    "logging",
    "monitoring",
    "performance",
)

FILE_SCHEMAS: dict[str, type[Strict]] = {
    "rubric": RubricFile,
    "frameworks": FrameworksFile,
    "context": ContextFile,
    "prompt": PromptFile,
    "auth": AuthFile,
    "security": SecurityFile,
    "frontend": FrontendFile,
    "backend": BackendFile,
    "database": DatabaseFile,
    "llm": LlmFile,
    "logging": LoggingFile,
    "monitoring": MonitoringFile,
    "performance": PerformanceFile,
}

# The five admin categories of the configuration editor.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "evaluation": ("rubric", "frameworks", "context", "prompt"),
    "security": ("auth", "security"),
    "interface": ("frontend",),
    "infrastructure": ("backend", "database", "performance"),
    "operations": ("llm", "logging", "monitoring"),
}
