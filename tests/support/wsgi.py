"""The WSGI middleware an app is wrapped in, found by walking the chain."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask

__all__ = ["find_layer", "wsgi_layers"]


def wsgi_layers(app: APIFlask) -> list[Any]:
    """The WSGI middleware around Flask's own `wsgi_app`, outermost first, however deep."""
    layers, layer = [], app.wsgi_app
    while getattr(layer, "__self__", None) is not app:  # Flask's bound method ends the chain
        layers.append(layer)
        layer = getattr(layer, "wsgi_app", None) or layer.app
    return layers


def find_layer(app: APIFlask, kind: type) -> Any:
    """The layer of type `kind` around `app`, or None."""
    return next((layer for layer in wsgi_layers(app) if isinstance(layer, kind)), None)
