"""What a survey's profile must not carry: phone numbers, Apple IDs, contact and device names.

A profile is meant to be sent back (README: "Your first hour with real phones"), so every text that
goes into it (element labels, identifiers and values, log lines) passes :meth:`Scrubber.text`:

* **phone numbers** in any of the ways iOS writes them (``+1 (555) 010-0002``, ``555-010-0002``,
  ``+15550100002``, with non-breaking hyphens or spaces): any run of 7 or more digits with
  separators, known to the lab or not; on the call screens it becomes the screen's placeholder
  (``{caller}`` on the incoming call, ``{party}`` in the call, ``{title}`` in the dial prompt: the
  virtual phone fills it with its own caller), elsewhere ``[phone number]``;
* **Apple IDs** and any other e-mail address: ``[apple id]``;
* **names**: the lab's phone names, each phone's own device name (lockdown ``DeviceName``, often
  "Sam's iPhone"), the caller as the DUT shows it (a contact's name when the caller is a contact,
  as the lab set-up asks) and a possessive before a device word ("Sam's AirPods"): ``[name]`` (or
  the placeholder for the caller on call screens).

What a survey cannot know is the name in an arbitrary text (a notification's sender on the lock
screen): the README asks to clear notifications first, and the survey prints what it scrubbed so a
person can read the profile before sending it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NUMBER = re.compile(r"(?<![\w@])\+?\(?\d[\d\s()\-\u2010\u2011\u2012\u00a0.]{5,}\d(?![\w@])")
"""A run that may be a phone number: digits with spaces, parentheses, hyphens (also the
non-breaking U+2011 iOS uses), dots; at least 7 digits counted in :func:`_is_number`."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./]\d{1,2}[./]\d{2,4}$|^\d+\.\d+(\.\d+)*$")
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
DEVICE_WORDS = ("iPhone", "iPad", "AirPods", "Apple Watch", "Watch", "MacBook", "Mac", "Beats", "HomePod",
                "Headphones", "Buds", "Car", "Speaker")
POSSESSIVE = re.compile(r"\b[A-Z][\w\-]*(?:\s[A-Z][\w\-]*)?['\u2019]s(?=\s(?:"
                        + "|".join(DEVICE_WORDS) + r")\b)")
NUMBER_TEXT, APPLE_ID_TEXT, NAME_TEXT = "[phone number]", "[apple id]", "[name]"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _is_number(text: str) -> bool:
    return len(_digits(text)) >= 7 and not _DATE.match(text.strip())


@dataclass
class Scrubber:
    """Replaces personal data in texts bound for a profile. ``names``: exact strings to remove
    (phone and device names, the caller's display); ``numbers``: the lab's numbers (counted apart,
    every number-like run is replaced anyway)."""

    names: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add_names(self, names: Iterable[str | None]) -> None:
        for name in names:
            name = (name or "").strip()
            if len(name) >= 2 and name not in self.names:
                self.names.append(name)
        self.names.sort(key=len, reverse=True)  # the longest first: "Sam's iPhone" before "Sam"

    def text(self, text: str, *, party: str | None = None, escape: bool = False) -> str:
        """``text`` without personal data. ``party``: the placeholder that stands for the other party
        on this screen (``caller``); ``escape``: the text goes into a profile tree, where ``{`` and
        ``}`` are placeholders, so literal braces are doubled first."""
        if not text:
            return text
        out = text.replace("{", "{{").replace("}", "}}") if escape else text
        who = f"{{{party}}}" if party else None
        for name in self.names:
            if name in out:
                self.counts["name"] += out.count(name)
                out = out.replace(name, who or NAME_TEXT)

        def number(m: re.Match[str]) -> str:
            found = m.group(0)
            if not _is_number(found):
                return found
            known = any(_digits(n)[-7:] and _digits(found).endswith(_digits(n)[-7:]) for n in self.numbers)
            self.counts["known number" if known else "number"] += 1
            return who or NUMBER_TEXT

        out = NUMBER.sub(number, out)

        def email(m: re.Match[str]) -> str:
            self.counts["apple id"] += 1
            return APPLE_ID_TEXT

        out = EMAIL.sub(email, out)

        def possessive(m: re.Match[str]) -> str:
            self.counts["name"] += 1
            return f"{NAME_TEXT}\u2019s"

        return POSSESSIVE.sub(possessive, out)

    def found_in(self, text: str) -> list[str]:
        """What of the personal data this scrubber knows is still in ``text`` (a check: []),"""
        left = [n for n in self.names if n in text]
        left += [m.group(0) for m in NUMBER.finditer(text) if _is_number(m.group(0))]
        left += EMAIL.findall(text)
        return left

    def found_in_doc(self, doc: Any) -> list[str]:
        """:meth:`found_in` over every text of a loaded profile (keys and values; integers of 7 or
        more digits too), not over its YAML: a block list of frame numbers (``- 0``, ``- 390``, ...)
        reads like a phone number's digits and separators."""
        left: list[str] = []
        stack = [doc]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack += [*item.keys(), *item.values()]
            elif isinstance(item, list | tuple):
                stack += list(item)
            elif isinstance(item, str):
                left += self.found_in(item)
            elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 1_000_000:
                left += self.found_in(str(item))
        return left
