"""Configuration: environment settings and the integration's mappings file.

Reads only; never prints a secret. Everything else asks this package for settings.
"""

from config.errors import ConfigError
from config.mappings import Mappings, StoreMapping, TaxMapping, load_mappings
from config.settings import Settings, load_settings

__all__ = [
    "ConfigError",
    "Mappings",
    "Settings",
    "StoreMapping",
    "TaxMapping",
    "load_mappings",
    "load_settings",
]
