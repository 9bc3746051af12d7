"""The pages' wording in French."""

# French typography uses the typographic apostrophe, which RUF001 takes for a lookalike.
# ruff: noqa: RUF001

from __future__ import annotations

from typing import Final

from services.api.pages.wording import Messages, catalogued

__all__ = ["FR"]

FR: Final = Messages(
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
    until_disconnected="Jusqu’à ce que vous la déconnectiez. {lasts}",
    sessions_title="Sessions actives",
    sessions_lead=(
        "Les applications qui ont accès à votre compte en ce moment. Si vous n’en reconnaissez"
        " pas une, signalez-la : son accès prend fin immédiatement."
    ),
    no_sessions="Aucune application n’a accès à votre compte en ce moment.",
    session_line="Depuis le {since}, jusqu’au {until} au plus tard",
    activity_title="Connexions récentes",
    activity_lead=(
        "Les dernières tentatives de connexion à votre compte. Si vous n’êtes pas l’auteur"
        " d’une connexion réussie, signalez-la : tout accès à votre compte prend fin"
        " immédiatement ; changez ensuite votre mot de passe."
    ),
    no_activity="Aucune connexion à afficher pour l’instant.",
    signed_in_ok="Connexion réussie",
    signed_in_refused="Refusée",
    report="Ce n’était pas moi",
    reported_session=(
        "Merci. Cette application n’a plus cet accès, et le signalement est enregistré."
    ),
    reported_sign_in=(
        "Merci. Tout accès à votre compte a pris fin et le signalement est enregistré."
        " Changez votre mot de passe maintenant."
    ),
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
    scopes=catalogued("fr"),
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
        "nothing_to_report": (
            "Il n’y a rien à vous à signaler ici (l’accès a peut-être pris fin)."
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
