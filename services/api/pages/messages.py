"""Every text the login, consent, account and error pages show, in English and French
(services/api/pages/wording_en.py and wording_fr.py), and durations and dates in words.

The language comes from `lang`, then the first supported tag of `ui_locales`
(OpenID Connect Core 3.1.2.1), then English.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal

from services.api.pages.wording import Messages
from services.api.pages.wording_en import EN
from services.api.pages.wording_fr import FR

__all__ = [
    "LANGS",
    "Lang",
    "Messages",
    "calendar_date",
    "describe_scope",
    "duration",
    "messages",
    "pick_lang",
]

Lang = Literal["en", "fr"]
LANGS: Final[tuple[Lang, ...]] = ("en", "fr")


_MESSAGES: Final[dict[Lang, Messages]] = {"en": EN, "fr": FR}
_UNIT_SECONDS: Final = (86_400, 3_600, 60, 1)


def messages(lang: Lang) -> Messages:
    return _MESSAGES[lang]


def _supported(tag: str) -> Lang | None:
    primary = tag.split("-", 1)[0].lower()
    return next((lang for lang in LANGS if lang == primary), None)


def pick_lang(lang: str | None, ui_locales: str | None) -> Lang:
    """`lang` if supported, else the first supported of `ui_locales`, else English."""
    for tag in [lang or "", *(ui_locales or "").split()]:
        found = _supported(tag)
        if found is not None:
            return found
    return "en"


def duration(lang: Lang, seconds: int) -> str:
    """A lifetime in words, at most its two largest units: `1 hour`, `30 jours`."""
    text = _MESSAGES[lang]
    parts: list[str] = []
    remaining = max(seconds, 0)
    for size, (one, many) in zip(_UNIT_SECONDS, text.units, strict=True):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count} {one if count == 1 else many}")
    return text.joiner.join(parts[:2]) or f"0 {text.units[-1][1]}"


def calendar_date(lang: Lang, when: datetime) -> str:
    """A day in words, as it falls in UTC: `23 November 2026`, `1er mars 2027`."""
    text, when = _MESSAGES[lang], when.astimezone(UTC)
    day = text.first_day if when.day == 1 else str(when.day)
    return f"{day} {text.months[when.month - 1]} {when.year}"


def describe_scope(text: Messages, scope: str, client: str) -> str:
    """What a scope gives access to, in words, as the consent page says it."""
    return text.scopes.get(scope) or text.generic_scope.format(scope=scope, client=client)
