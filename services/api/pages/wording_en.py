"""The pages' wording in English."""

# French typography uses the typographic apostrophe, which RUF001 takes for a lookalike.

from __future__ import annotations

from typing import Final

from services.api.pages.wording import Messages, catalogued

__all__ = ["EN"]

EN: Final = Messages(
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
    until_disconnected="Until you disconnect it. {lasts}",
    sessions_title="Active sessions",
    sessions_lead=(
        "Applications holding access to your account right now. If you do not recognise"
        " one, report it: its access ends at once."
    ),
    no_sessions="No application holds access to your account right now.",
    session_line="Since {since}, until {until} at the latest",
    activity_title="Recent sign-ins",
    activity_lead=(
        "The latest attempts to sign in to your account. If you did not make one that"
        " succeeded, report it: every access to your account ends at once, and change your"
        " password."
    ),
    no_activity="No sign-in to show yet.",
    signed_in_ok="Signed in",
    signed_in_refused="Refused",
    report="This was not me",
    reported_session=(
        "Thank you. That application no longer has this access, and the report is on record."
    ),
    reported_sign_in=(
        "Thank you. Every access to your account has ended and the report is on record."
        " Change your password now."
    ),
    sso_button="Sign in with your company",
    sso_hint="With a work email, your company's own sign-in page takes over: no password here.",
    sso_redirect_title="On to your company's sign-in",
    sso_redirect_lead="Your company signs you in at {host}.",
    sso_continue="Continue",
    sso_back_title="Signed in",
    sso_back_lead="Back to the application at {host}.",
    scopes=catalogued("en"),
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
        "nothing_to_report": "There is nothing of yours to report there (it may have ended).",
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
