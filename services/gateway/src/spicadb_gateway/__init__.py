"""SPICA-DB gateway: the single entry point in front of every service."""
