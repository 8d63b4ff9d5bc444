"""Characters that look like ASCII ones but are not: a code's skeleton, and what to tell about them.

A code is ASCII letters, digits, `_`, `.` and `-`. A letter pasted from elsewhere may look the same
and differ (`commit-12m` with its `c` the Cyrillic U+0441), or a character may not show at all (a
zero-width space): the code is refused (BR205), and a diagnostic that quotes it renders as the
correct text. `skeleton` gives the ASCII text such a code stands for (references written that way
are what it means), `lookalike_problems` says which characters are wrong, by name.
"""

from __future__ import annotations

import unicodedata

#: Cyrillic, Greek and other letters that look like an ASCII letter (after Unicode's confusables,
#: UTS #39, those whose look-alike is a plain Latin letter), and dashes that look like `-`
_LOOKS_LIKE: dict[str, str] = {
    # Cyrillic, small
    "\u0430": "a",  # CYRILLIC SMALL LETTER A
    "\u0435": "e",  # CYRILLIC SMALL LETTER IE
    "\u043e": "o",  # CYRILLIC SMALL LETTER O
    "\u0440": "p",  # CYRILLIC SMALL LETTER ER
    "\u0441": "c",  # CYRILLIC SMALL LETTER ES
    "\u0443": "y",  # CYRILLIC SMALL LETTER U
    "\u0445": "x",  # CYRILLIC SMALL LETTER HA
    "\u0455": "s",  # CYRILLIC SMALL LETTER DZE
    "\u0456": "i",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "\u0458": "j",  # CYRILLIC SMALL LETTER JE
    "\u0501": "d",  # CYRILLIC SMALL LETTER KOMI DE
    "\u04bb": "h",  # CYRILLIC SMALL LETTER SHHA
    "\u051b": "q",  # CYRILLIC SMALL LETTER QA
    "\u051d": "w",  # CYRILLIC SMALL LETTER WE
    "\u04cf": "l",  # CYRILLIC SMALL LETTER PALOCHKA
    "\u04af": "y",  # CYRILLIC SMALL LETTER STRAIGHT U
    "\u0475": "v",  # CYRILLIC SMALL LETTER IZHITSA
    # Cyrillic, capital
    "\u0410": "A",  # CYRILLIC CAPITAL LETTER A
    "\u0412": "B",  # CYRILLIC CAPITAL LETTER VE
    "\u0415": "E",  # CYRILLIC CAPITAL LETTER IE
    "\u041a": "K",  # CYRILLIC CAPITAL LETTER KA
    "\u041c": "M",  # CYRILLIC CAPITAL LETTER EM
    "\u041d": "H",  # CYRILLIC CAPITAL LETTER EN
    "\u041e": "O",  # CYRILLIC CAPITAL LETTER O
    "\u0420": "P",  # CYRILLIC CAPITAL LETTER ER
    "\u0421": "C",  # CYRILLIC CAPITAL LETTER ES
    "\u0422": "T",  # CYRILLIC CAPITAL LETTER TE
    "\u0425": "X",  # CYRILLIC CAPITAL LETTER HA
    "\u0423": "Y",  # CYRILLIC CAPITAL LETTER U
    "\u04ae": "Y",  # CYRILLIC CAPITAL LETTER STRAIGHT U
    "\u0405": "S",  # CYRILLIC CAPITAL LETTER DZE
    "\u0406": "I",  # CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
    "\u04c0": "I",  # CYRILLIC LETTER PALOCHKA
    "\u0408": "J",  # CYRILLIC CAPITAL LETTER JE
    "\u051a": "Q",  # CYRILLIC CAPITAL LETTER QA
    "\u051c": "W",  # CYRILLIC CAPITAL LETTER WE
    "\u0474": "V",  # CYRILLIC CAPITAL LETTER IZHITSA
    # Greek, small
    "\u03b1": "a",  # GREEK SMALL LETTER ALPHA
    "\u03b3": "y",  # GREEK SMALL LETTER GAMMA
    "\u03b9": "i",  # GREEK SMALL LETTER IOTA
    "\u03bd": "v",  # GREEK SMALL LETTER NU
    "\u03bf": "o",  # GREEK SMALL LETTER OMICRON
    "\u03c1": "p",  # GREEK SMALL LETTER RHO
    "\u03f2": "c",  # GREEK LUNATE SIGMA SYMBOL
    "\u03f3": "j",  # GREEK LETTER YOT
    # Greek, capital
    "\u0391": "A",  # GREEK CAPITAL LETTER ALPHA
    "\u0392": "B",  # GREEK CAPITAL LETTER BETA
    "\u0395": "E",  # GREEK CAPITAL LETTER EPSILON
    "\u0396": "Z",  # GREEK CAPITAL LETTER ZETA
    "\u0397": "H",  # GREEK CAPITAL LETTER ETA
    "\u0399": "I",  # GREEK CAPITAL LETTER IOTA
    "\u039a": "K",  # GREEK CAPITAL LETTER KAPPA
    "\u039c": "M",  # GREEK CAPITAL LETTER MU
    "\u039d": "N",  # GREEK CAPITAL LETTER NU
    "\u039f": "O",  # GREEK CAPITAL LETTER OMICRON
    "\u03a1": "P",  # GREEK CAPITAL LETTER RHO
    "\u03a4": "T",  # GREEK CAPITAL LETTER TAU
    "\u03a5": "Y",  # GREEK CAPITAL LETTER UPSILON
    "\u03a7": "X",  # GREEK CAPITAL LETTER CHI
    "\u03f9": "C",  # GREEK CAPITAL LUNATE SIGMA SYMBOL
    "\u037f": "J",  # GREEK CAPITAL LETTER YOT
    # Latin letters without their dot, and Armenian
    "\u0131": "i",  # LATIN SMALL LETTER DOTLESS I
    "\u0237": "j",  # LATIN SMALL LETTER DOTLESS J
    "\u0251": "a",  # LATIN SMALL LETTER ALPHA
    "\u0261": "g",  # LATIN SMALL LETTER SCRIPT G
    "\u0585": "o",  # ARMENIAN SMALL LETTER OH
    "\u057d": "u",  # ARMENIAN SMALL LETTER SEH
    # dashes and minus signs
    "\u2010": "-",  # HYPHEN
    "\u2011": "-",  # NON-BREAKING HYPHEN
    "\u2012": "-",  # FIGURE DASH
    "\u2013": "-",  # EN DASH
    "\u2014": "-",  # EM DASH
    "\u2212": "-",  # MINUS SIGN
}


def _look(character: str) -> str:
    """The ASCII text `character` looks like: itself when ASCII, "" when it does not show (a
    format character: zero-width space, joiner, soft hyphen, byte order mark, direction mark),
    its look-alike, or its compatibility form when that is ASCII (a fullwidth letter, the ligature `fi`); else itself."""
    if character.isascii():
        return character
    if unicodedata.category(character) == "Cf":
        return ""
    alike = _LOOKS_LIKE.get(character)
    if alike is not None:
        return alike
    compatible = unicodedata.normalize("NFKC", character)
    return compatible if compatible.isascii() else character


def skeleton(text: str) -> str:
    """`text` as it looks in ASCII: look-alike letters replaced by the ASCII ones (`commit-12m`
    with its `c` the Cyrillic U+0441 is `commit-12m`), invisible characters removed; other characters kept."""
    if text.isascii():
        return text
    return "".join(_look(character) for character in text)


def character_name(character: str) -> str:
    """`U+0441 CYRILLIC SMALL LETTER ES` (the code point alone for one with no name)."""
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" {name}" if name else "")


#: how many characters `lookalike_problems` names before "and N more"
_NAMED = 3


def lookalike_problems(text: str) -> str:
    """What is wrong with the non-ASCII characters of a code, by name and place (1-based):
    "`\u0441` (U+0441 CYRILLIC SMALL LETTER ES) at character 1 looks like `c`"; an invisible one
    "U+200B ZERO WIDTH SPACE at character 7 is invisible"; "" when `text` is ASCII."""
    found = []
    for place, character in enumerate(text, 1):
        if character.isascii():
            continue
        alike = _look(character)
        if alike == "":
            found.append(f"{character_name(character)} at character {place} is invisible")
            continue
        shown = f"`{character}` ({character_name(character)}) at character {place}"
        if alike.isspace():
            found.append(f"{character_name(character)} at character {place} is a space")
        elif alike != character:
            found.append(f"{shown} looks like `{alike}`")
        else:
            found.append(f"{shown} is not an ASCII letter")
    if len(found) > _NAMED:
        found = [*found[:_NAMED], f"and {len(found) - _NAMED} more"]
    return "; ".join(found)
