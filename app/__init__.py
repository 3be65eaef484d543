"""Domestique: a self-hosted training and health appliance for one endurance athlete."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("domestique")
except PackageNotFoundError:  # running from a checkout (the development root)
    __version__ = "0.1.0"
