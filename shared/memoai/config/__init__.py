"""Configuration: the 13 YAML files, validated, with one Settings object."""

from memoai.config.loader import ConfigError, ConfigProblem, validate_text
from memoai.config.schemas import BUSINESS_FILES, CATEGORIES, FILE_SCHEMAS, SYSTEM_FILES
from memoai.config.settings import (
    BusinessConfig,
    Settings,
    business_config,
    get_settings,
    load_settings,
    require_production_secrets,
    reset_config_cache,
)

__all__ = [
    "BUSINESS_FILES",
    "CATEGORIES",
    "FILE_SCHEMAS",
    "SYSTEM_FILES",
    "BusinessConfig",
    "ConfigError",
    "ConfigProblem",
    "Settings",
    "business_config",
    "get_settings",
    "load_settings",
    "require_production_secrets",
    "reset_config_cache",
    "validate_text",
]
