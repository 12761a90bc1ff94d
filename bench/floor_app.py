"""The floor: a bare Flask app with one endpoint returning a constant JSON body.

Served by granian with as many workers as the service, it is what any Flask service costs on this
machine whatever it does; every scenario is reported as a share of it.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def constant() -> dict[str, str]:
    """The same small body every time."""
    return {"status": "ok"}
