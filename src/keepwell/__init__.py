"""Keepwell: customer success platform."""

__version__ = "0.1.0"
