"""The editors' review app (Starlette, server-rendered Dutch pages, a little JavaScript of our own)."""

from .app import ServerThread, create_app, serve

__all__ = ["ServerThread", "create_app", "serve"]
