"""Untrusted text made safe to print: file names and other user data in logs and notes.

A file name may hold a newline (a forged log line or ``.error.txt`` field), an ANSI escape
(rewriting the terminal) or a bidi override (text that reads differently than it is).
"""

from __future__ import annotations

import logging
import unicodedata

#: Control, format (bidi overrides, zero-width), line and paragraph separator characters.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def printable(text: object) -> str:
    """``str(text)`` with control and invisible formatting characters escaped."""
    value = str(text)
    if value.isprintable():  # the common case: nothing to do
        return value
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE_CATEGORIES
        else ch
        for ch in value
    )


class PrintableFormatter(logging.Formatter):
    """A formatter whose messages are always one printable line (tracebacks, shown only
    with ``-v``, keep their own lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)
