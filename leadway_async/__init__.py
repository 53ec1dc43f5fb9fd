"""Async Python SDK for the Leadway CRM conversations search API."""

__version__ = "0.1.0.dev0"
