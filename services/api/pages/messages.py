"""Every text the login, consent, account and error pages show, in English and French.

The language comes from `lang`, then the first supported tag of `ui_locales`
(OpenID Connect Core 3.1.2.1), then English.
"""

# French typography uses the typographic apostrophe, which RUF001 takes for a lookalike.
# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from domain.scopes import CATALOGUE

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


@dataclass(frozen=True, slots=True)
class Messages:
    sign_in_title: str
    sign_in_lead: str  # {client}
    username: str
    password: str
    otp: str
    otp_hint: str
    sign_in: str
    consent_title: str
    consent_lead: str  # {client}
    data: str
    why: str
    how_long: str
    no_reason: str  # {client}
    generic_scope: str  # {scope} {client}
    access_only: str  # {access}
    access_renewed: str  # {access} {refresh}
    approve: str
    deny: str
    error_title: str
    account_title: str
    account_sign_in_lead: str
    account_lead: str
    connected_since: str  # {date}
    no_applications: str
    disconnect: str
    disconnected: str  # {client}
    sign_out: str
    signed_out: str
    back_to_account: str
    rate_limited: str  # {seconds}
    sso_button: str
    sso_hint: str
    sso_redirect_title: str
    sso_redirect_lead: str  # {host}
    sso_continue: str
    sso_back_title: str
    sso_back_lead: str  # {host}
    scopes: dict[str, str]
    login_errors: dict[str, str]
    page_errors: dict[str, str]
    # (singular, plural) per unit, largest first: day, hour, minute, second.
    units: tuple[tuple[str, str], ...]
    joiner: str
    months: tuple[str, ...]
    first_day: str  # how the first of a month is written


def _catalogued(lang: str) -> dict[str, str]:
    """The scope catalogue's words for the data each scope touches (domain/scopes.py)."""
    return {name: scope.data[lang] for name, scope in CATALOGUE.items()}


_EN: Final = Messages(
    sign_in_title="Sign in",
    sign_in_lead="Sign in to continue to {client}.",
    username="Username",
    password="Password",
    otp="One-time code",
    otp_hint="Only if your account uses an authenticator app.",
    sign_in="Sign in",
    consent_title="Allow access?",
    consent_lead="{client} is asking for access to your account.",
    data="What it can access",
    why="Why",
    how_long="For how long",
    no_reason="{client} gave no reason for needing this.",
    generic_scope="Access to the “{scope}” permission of your account at {client}.",
    access_only="Each access lasts {access}; after that the application must ask you again.",
    access_renewed=(
        "Each access lasts {access}; the application can renew it without asking you for"
        " {refresh} after its last use, until you withdraw your consent."
    ),
    approve="Allow",
    deny="Deny",
    error_title="This request cannot be completed",
    account_title="Connected applications",
    account_sign_in_lead="Sign in to see and manage the applications connected to your account.",
    account_lead=(
        "These applications can access your account. Disconnecting one ends its access at"
        " once: to get it back, it must ask you again."
    ),
    connected_since="Connected since {date}",
    no_applications="No application is connected to your account.",
    disconnect="Disconnect",
    disconnected="{client} is disconnected: its access to your account has ended.",
    sign_out="Sign out",
    signed_out="You are signed out.",
    rate_limited=("Too many requests from your network. Wait {seconds} seconds, then try again."),
    back_to_account="Back to your account",
    sso_button="Sign in with your company",
    sso_hint="With a work email, your company's own sign-in page takes over: no password here.",
    sso_redirect_title="On to your company's sign-in",
    sso_redirect_lead="Your company signs you in at {host}.",
    sso_continue="Continue",
    sso_back_title="Signed in",
    sso_back_lead="Back to the application at {host}.",
    scopes=_catalogued("en"),
    login_errors={
        "invalid_credentials": "Wrong username or password.",
        "user_disabled": "Wrong username or password.",
        "missing": "Enter your username and password.",
        "otp_required": "Enter your password again, with the one-time code from your app.",
        "invalid_otp": "The one-time code is not valid.",
        "password_expired": "Your password has expired. Ask an administrator to reset it.",
        "too_many_attempts": "Too many failed attempts. Try again in {seconds} seconds.",
        "not_allowed": "This account cannot sign in here.",
        "sso_required": (
            "Your company signs you in through its own sign-in page: choose “Sign in with your"
            " company”."
        ),
        "sso_unknown": "No company sign-in is set up for this address: use your password.",
    },
    page_errors={
        "missing_client_id": "The application did not say who it is (client_id is missing).",
        "unknown_client": "The application asking for access is not known here.",
        "client_inactive": "The application asking for access is suspended.",
        "invalid_redirect_uri": "The application gave a return address that is not registered.",
        "repeated_parameter": "The request repeats a parameter that must appear once.",
        "request_invalid": "This sign-in request is not valid or has expired. Start again.",
        "forbidden": "This form was not submitted from this browser's sign-in page. Start again.",
        "account_forbidden": (
            "This form was not submitted from this browser's account page. Reload the page"
            " and try again."
        ),
        "unavailable": "The service is briefly unavailable. Try again in a few seconds.",
        "no_consent": (
            "This application is not connected to your account (it may have been"
            " disconnected already)."
        ),
        "sso_state_mismatch": (
            "This sign-in did not start in this browser, or took too long. Start again from"
            " the application."
        ),
        "sso_issuer_mismatch": "The answer did not come from your company's sign-in service.",
        "sso_upstream_error": (
            "Your company's sign-in service did not sign you in. Start again from the application."
        ),
        "sso_id_token_invalid": (
            "Your company's sign-in service sent proof of identity that cannot be trusted."
        ),
        "sso_domain_not_allowed": (
            "Your company's sign-in service named an email address this company does not"
            " allow here."
        ),
        "sso_email_unverified": (
            "Your company's sign-in service does not vouch for your email address, so no"
            " account is linked to it. Ask your administrator."
        ),
        "sso_not_configured": (
            "Company sign-in changed meanwhile. Start again from the application."
        ),
        "sso_account_refused": "This account cannot sign in here.",
    },
    units=(("day", "days"), ("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
    joiner=" and ",
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    first_day="1",
)

_FR: Final = Messages(
    sign_in_title="Connexion",
    sign_in_lead="Connectez-vous pour continuer vers {client}.",
    username="Nom d’utilisateur",
    password="Mot de passe",
    otp="Code à usage unique",
    otp_hint="Seulement si votre compte utilise une application d’authentification.",
    sign_in="Se connecter",
    consent_title="Autoriser l’accès ?",
    consent_lead="{client} demande l’accès à votre compte.",
    data="Ce à quoi il aura accès",
    why="Pourquoi",
    how_long="Pour combien de temps",
    no_reason="{client} n’a donné aucune raison pour cette autorisation.",
    generic_scope="L’accès à l’autorisation « {scope} » de votre compte chez {client}.",
    access_only="Chaque accès dure {access} ; ensuite l’application doit vous redemander.",
    access_renewed=(
        "Chaque accès dure {access} ; l’application peut le renouveler sans vous le redemander"
        " pendant {refresh} après sa dernière utilisation, jusqu’à ce que vous retiriez votre"
        " consentement."
    ),
    approve="Autoriser",
    deny="Refuser",
    error_title="Cette demande ne peut pas aboutir",
    account_title="Applications connectées",
    account_sign_in_lead=(
        "Connectez-vous pour voir et gérer les applications connectées à votre compte."
    ),
    account_lead=(
        "Ces applications ont accès à votre compte. En déconnecter une met fin à son accès"
        " immédiatement : pour le retrouver, elle devra vous le redemander."
    ),
    connected_since="Connectée depuis le {date}",
    no_applications="Aucune application n’est connectée à votre compte.",
    disconnect="Déconnecter",
    disconnected="{client} est déconnectée : son accès à votre compte a pris fin.",
    sign_out="Se déconnecter",
    signed_out="Votre session est fermée.",
    rate_limited=(
        "Trop de requêtes depuis votre réseau. Patientez {seconds} secondes, puis réessayez."
    ),
    back_to_account="Retour à votre compte",
    sso_button="Se connecter avec votre entreprise",
    sso_hint=(
        "Avec une adresse professionnelle, la page de connexion de votre entreprise prend le"
        " relais : pas de mot de passe ici."
    ),
    sso_redirect_title="Vers la connexion de votre entreprise",
    sso_redirect_lead="Votre entreprise vous connecte sur {host}.",
    sso_continue="Continuer",
    sso_back_title="Connecté",
    sso_back_lead="Retour à l’application sur {host}.",
    scopes=_catalogued("fr"),
    login_errors={
        "invalid_credentials": "Nom d’utilisateur ou mot de passe incorrect.",
        "user_disabled": "Nom d’utilisateur ou mot de passe incorrect.",
        "missing": "Saisissez votre nom d’utilisateur et votre mot de passe.",
        "otp_required": (
            "Saisissez à nouveau votre mot de passe, avec le code à usage unique de votre"
            " application."
        ),
        "invalid_otp": "Le code à usage unique n’est pas valide.",
        "password_expired": (
            "Votre mot de passe a expiré. Demandez à un administrateur de le réinitialiser."
        ),
        "too_many_attempts": "Trop d’échecs. Réessayez dans {seconds} secondes.",
        "not_allowed": "Ce compte ne peut pas se connecter ici.",
        "sso_required": (
            "Votre entreprise vous connecte par sa propre page de connexion : choisissez"
            " « Se connecter avec votre entreprise »."
        ),
        "sso_unknown": (
            "Aucune connexion d’entreprise n’est prévue pour cette adresse : utilisez votre mot"
            " de passe."
        ),
    },
    page_errors={
        "missing_client_id": "L’application n’a pas dit qui elle est (client_id manquant).",
        "unknown_client": "L’application qui demande l’accès n’est pas connue ici.",
        "client_inactive": "L’application qui demande l’accès est suspendue.",
        "invalid_redirect_uri": (
            "L’application a donné une adresse de retour qui n’est pas enregistrée."
        ),
        "repeated_parameter": "La demande répète un paramètre qui doit être unique.",
        "request_invalid": (
            "Cette demande de connexion n’est pas valide ou a expiré. Recommencez."
        ),
        "forbidden": (
            "Ce formulaire n’a pas été envoyé depuis la page de connexion de ce navigateur."
            " Recommencez."
        ),
        "account_forbidden": (
            "Ce formulaire n’a pas été envoyé depuis la page de compte de ce navigateur."
            " Rechargez la page et réessayez."
        ),
        "unavailable": (
            "Le service est momentanément indisponible. Réessayez dans quelques secondes."
        ),
        "no_consent": (
            "Cette application n’est pas connectée à votre compte (elle a peut-être déjà été"
            " déconnectée)."
        ),
        "sso_state_mismatch": (
            "Cette connexion n’a pas commencé dans ce navigateur, ou a pris trop de temps."
            " Recommencez depuis l’application."
        ),
        "sso_issuer_mismatch": (
            "La réponse ne vient pas du service de connexion de votre entreprise."
        ),
        "sso_upstream_error": (
            "Le service de connexion de votre entreprise ne vous a pas connecté. Recommencez"
            " depuis l’application."
        ),
        "sso_id_token_invalid": (
            "Le service de connexion de votre entreprise a envoyé une preuve d’identité qui"
            " n’est pas fiable."
        ),
        "sso_domain_not_allowed": (
            "Le service de connexion de votre entreprise a donné une adresse e-mail que cette"
            " entreprise n’autorise pas ici."
        ),
        "sso_email_unverified": (
            "Le service de connexion de votre entreprise ne garantit pas votre adresse e-mail :"
            " aucun compte n’y est relié. Adressez-vous à votre administrateur."
        ),
        "sso_not_configured": (
            "La connexion d’entreprise a changé entre-temps. Recommencez depuis l’application."
        ),
        "sso_account_refused": "Ce compte ne peut pas se connecter ici.",
    },
    units=(("jour", "jours"), ("heure", "heures"), ("minute", "minutes"), ("seconde", "secondes")),
    joiner=" et ",
    months=(
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    first_day="1er",
)

_MESSAGES: Final[dict[Lang, Messages]] = {"en": _EN, "fr": _FR}
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
