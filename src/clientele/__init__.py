"""Clientele: a customer relationship and loyalty engine for retail chains."""

__version__ = "0.1.0"
