"""The one configuration error: a message that says what to fix."""


class ConfigError(Exception):
    """Bad or missing configuration. The message names the variable or file to fix."""
