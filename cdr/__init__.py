"""cdr — Content Disarm and Reconstruction for separated networks (無害化)."""

__version__ = "0.1.0"
