"""Endpoints the vendors call (webhooks): signed by the vendor, never by a user session."""
