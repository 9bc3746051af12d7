"""The scope catalogue: what data each scope touches, and whether it reads or writes it.

The consent page says it in words, and a workspace API key may only hold catalogued scopes.
"""

# ruff: noqa: RUF001
# (French typography: the apostrophe is U+2019.)

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

__all__ = ["CATALOGUE", "Scope", "uncatalogued"]


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    access: Literal["read", "write"]
    # The data it touches, by language (`en` is always present).
    data: dict[str, str]


def _scope(name: str, access: Literal["read", "write"], en: str, fr: str) -> Scope:
    return Scope(name=name, access=access, data={"en": en, "fr": fr})


CATALOGUE: Final[dict[str, Scope]] = {
    scope.name: scope
    for scope in (
        _scope("openid", "read", "Your account identifier, to confirm who you are.",
               "L’identifiant de votre compte, pour confirmer qui vous êtes."),
        _scope("profile", "read", "Your basic profile: your username.",
               "Votre profil de base : votre nom d’utilisateur."),
        _scope("offline_access", "read",
               "Access while you are not using the application (it stays signed in).",
               "L’accès quand vous n’utilisez pas l’application (elle reste connectée)."),
        _scope("read", "read", "Reading your data.", "La lecture de vos données."),
        _scope("write", "write", "Creating, changing and deleting your data.",
               "La création, la modification et la suppression de vos données."),
        _scope("analytics.read", "read", "Your analytics: audience, reach and engagement figures.",
               "Vos statistiques : audience, portée et engagement."),
        _scope("posts.read", "read", "Your posts, published and scheduled.",
               "Vos publications, publiées et programmées."),
        _scope("posts.write", "write", "Creating, scheduling, editing and deleting your posts.",
               "La création, la programmation, la modification et la suppression de vos "
               "publications."),
        _scope("media.read", "read", "Your media library: images and videos.",
               "Votre médiathèque : images et vidéos."),
        _scope("reviews.read", "read", "Reviews left about your business, with their replies.",
               "Les avis laissés sur votre entreprise, avec leurs réponses."),
        _scope("audit:read", "read", "The workspace's audit trail: who did what, and when.",
               "Le journal d’audit de l’espace de travail : qui a fait quoi, et quand."),
        _scope("workspaces", "write", "Your workspaces: their members, roles and API keys.",
               "Vos espaces de travail : leurs membres, leurs rôles et leurs clés d’API."),
        _scope("connections", "write",
               "The accounts you connect from other services: connecting, seeing and ending them.",
               "Les comptes que vous connectez depuis d’autres services : les connecter, les voir "
               "et y mettre fin."),
    )
}  # fmt: skip


def uncatalogued(scopes: Iterable[str]) -> list[str]:
    """The scopes the catalogue does not know, in the order given."""
    return [scope for scope in scopes if scope not in CATALOGUE]
