"""Text from outside (upstream bodies, server errors, exceptions) made safe to show.

An upstream may answer anything: HTML, binary, NUL bytes, terminal escape
sequences, megabytes. Whatever reaches a condition message, an Event or a log
line passes through ``printable`` first: control and format characters are
escaped as ``\\xNN``/``\\uNNNN`` (visible, never interpreted by a terminal or
refused by a consumer), runs of whitespace become one space, and the result is
cut to a bound with ``...`` so one answer cannot bloat status or logs.
"""

from __future__ import annotations

import unicodedata

# metav1.Condition allows 32 768 bytes of message; a human reads far fewer.
MESSAGE_LIMIT = 1024
_ELLIPSIS = "..."
# Categories that are never text to show: controls (Cc, NUL and ESC included),
# format characters (Cf: bidi overrides, zero-width), surrogates (Cs),
# private use (Co) and unassigned code points (Cn).
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _escape(char: str) -> str:
    code = ord(char)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def printable(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line, every invisible character escaped, at most ``limit`` characters."""
    parts: list[str] = []
    size = 0
    pending_space = False
    for char in text:
        if char.isspace():
            pending_space = bool(parts)
            continue
        piece = _escape(char) if unicodedata.category(char) in _HIDDEN else char
        if pending_space:
            piece = " " + piece
            pending_space = False
        parts.append(piece)
        size += len(piece)
        if size > limit:
            break
    joined = "".join(parts)
    if len(joined) <= limit:
        return joined
    return joined[: max(0, limit - len(_ELLIPSIS))] + _ELLIPSIS
