"""The layout of a cached response: when it was stored, the view's headers and the body.

    2:<stored at, Unix seconds>\n<Name>: <value>\n...\n\n<body>

A header value never holds a newline, so the first blank line ends the headers. The leading
`2:` names the layout: an entry of an earlier layout (it began with the bare time) is a miss
here, and an entry of this one is a miss to an earlier release, which cannot read its time.
Both overwrite what they cannot read, so a rolling upgrade shares one cache safely.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Headers", "pack_entry", "unpack_entry"]

Headers = list[tuple[str, str]]
LAYOUT = "2"


def pack_entry(stored_at: float, headers: Iterable[tuple[str, str]], body: bytes) -> bytes:
    """An entry holding `headers` and `body`, stored at `stored_at`."""
    head = "".join(f"\n{name}: {value}" for name, value in headers)
    return b"%s:%d%s\n\n%s" % (LAYOUT.encode(), stored_at, head.encode("latin-1"), body)


def unpack_entry(entry: bytes) -> tuple[int, Headers, bytes] | None:
    """(stored at, headers, body) of an entry; None for one of another layout."""
    try:
        head, body = entry.split(b"\n\n", 1)
        first, *lines = head.decode("latin-1").split("\n")
        layout, stored_at = first.split(":")
        if layout != LAYOUT:
            return None
        headers: Headers = []
        for line in lines:
            name, value = line.split(": ", 1)
            headers.append((name, value))
        return int(stored_at), headers, body
    except ValueError:
        return None
