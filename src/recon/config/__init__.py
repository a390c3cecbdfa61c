"""Configuration: environment settings and the integration's mappings file.

Reads only; never prints a secret. Everything else asks this package for settings.
"""

from recon.config.errors import ConfigError
from recon.config.mappings import Mappings, StoreMapping, TaxMapping, load_mappings
from recon.config.settings import Settings, load_settings

__all__ = [
    "ConfigError",
    "Mappings",
    "Settings",
    "StoreMapping",
    "TaxMapping",
    "load_mappings",
    "load_settings",
]
