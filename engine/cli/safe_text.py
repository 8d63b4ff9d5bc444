"""Escape text that came from input before it reaches a report.

File names, codes, messages and source lines may hold newlines, NUL, escape sequences or other
control characters. Written raw, they could forge a line of the report (a fake `error[BR000]`)
or drive the analyst's terminal. Every output format escapes them; this module says how.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, lone surrogates (a
#: file name that is not UTF-8 arrives as surrogate escapes and cannot be encoded), and the
#: bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9), which reorder the text beside
#: them: an id holding U+202E showed `odd/odd.jsonl:1` as `1:lnosj.ddo/ddo`; and the characters
#: that show nothing (soft hyphen, U+180E, zero-width space U+200B, word joiner and invisible
#: operators U+2060-4, U+FEFF, the noncharacters U+FFFE/F, tag characters U+E0000-7F), with which two codes that differ look
#: the same. (Not the joiners U+200C/D, which Persian and Indic names need; a flag emoji's run of
#: tag characters, after U+1F3F4 and ending with U+E007F, is written as it is.)
_PAST_C0 = (
    "\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff"
    "\U000e0000-\U000e007f"
)
_FLAG = "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
#: a flag emoji (group 1, kept) or a character to escape
_UNSAFE = re.compile(f"({_FLAG})|[\x00-\x1f{_PAST_C0}]")
#: what `json_safe` escapes: `_UNSAFE`'s characters but the C0 controls, which JSON escapes itself
_JSON_UNSAFE = re.compile(f"[{_PAST_C0}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    if match.group(1):  # a flag emoji: its tag characters are its letters
        return match.group(1)
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\n`, `\\x1b`, ...)."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def json_safe(document: str) -> str:
    """Serialised JSON with every character `printable` escapes written as a JSON escape (`\\uXXXX`,
    a surrogate pair past U+FFFF), so that `printable` leaves it alone and it stays JSON (json
    escapes only C0). Such characters can only occur inside JSON strings."""
    if document.isascii() and "\x7f" not in document:  # nothing to escape (two scans in C)
        return document
    return _JSON_UNSAFE.sub(_json_escape, document)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
