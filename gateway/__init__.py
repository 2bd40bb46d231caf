"""Gateway: the data-plane reverse proxy routing requests by Host to revisions."""

from gateway.server import Gateway

__all__ = ["Gateway"]
