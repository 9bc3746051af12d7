"""What each HTTP operation takes and answers, beyond what Litestar reads off its handler.

Most handlers read their bodies and query strings by hand (to answer bad input in the
protocol's own error shape), the token and introspection endpoints are raw ASGI routes,
and the pages answer HTML: so request bodies, query parameters, security and error
answers are declared here, once per operation, and `document.py` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from schemas.http.audit import EventsQuery, ExportQuery, PointInTimeQuery, TimelineQuery
from schemas.http.connections import (
    CallbackQuery,
    ConnectionRequest,
    ConnectionsQuery,
    ConnectionView,
    DisconnectRequest,
    ProviderRequest,
)
from schemas.http.management import (
    ClientRegistrationRequest,
    ClientStatusChange,
    PasswordChange,
    SecretRotation,
    TokensRevocation,
    UserCreation,
    UserDisabling,
    UserErasing,
)
from schemas.http.oauth import (
    AuthorizationParameters,
    ClientAuthentication,
    IntrospectionRequest,
    RevocationRequest,
    TokenRequest,
)
from schemas.http.pages import (
    AccountQuery,
    AccountSignInForm,
    ConsentForm,
    DisconnectForm,
    LoginForm,
    ReportForm,
    SignOutForm,
)
from schemas.http.sso import SsoDisabling, SsoRequest
from schemas.http.workspaces import (
    ApiKeyRequest,
    ApiKeyRevocationRequest,
    ApiKeyRotation,
    Invitation,
    RoleChange,
    WorkspaceRequest,
)
from services.api.health import Readiness
from services.api.openapi.console_operations import CONSOLE_OPERATIONS
from services.api.openapi.shapes import (
    FORM,
    JSON,
    PAGE,
    REDIRECT,
    Answer,
    Operation,
    Requirement,
)
from services.introspection import Introspection
from services.tokens import TokenResponse

__all__ = ["OPERATIONS"]

# client_secret_basic, or (the empty requirement) client_secret_post / a public client's
# client_id in the body.
_CLIENT: Final[tuple[Requirement, ...]] = ({"client_basic": ()}, {})
_CLIENT_BASIC: Final[tuple[Requirement, ...]] = ({"client_basic": ()},)
_API_KEY: Final[Requirement] = {"api_key": (), "workspace_id": ()}


def _bearer(*scopes: str) -> tuple[Requirement, ...]:
    return ({"access_token": scopes},)


_OAUTH_BODY: Final = (FORM, JSON)
_PAGE_COOKIES: Final = ("kl_csrf", "kl_session")
_ADMIN: Final = _bearer("keyledger:admin")
_MEMBER: Final = _bearer("workspaces")
_AUDITOR: Final = (*_bearer("audit:read"), _API_KEY)
_OWNER: Final = _bearer("connections")
_MANAGE_ERRORS: Final = (400, 401, 403, 404, 409, 413)
_NO_CONTENT: Final = Answer("done")


def _manage(summary: str, body: type | None = None, *, optional: bool = False) -> Operation:
    return Operation(summary, _ADMIN, body=body, body_required=not optional, errors=_MANAGE_ERRORS)


def _member(summary: str, body: type | None = None, *, optional: bool = False) -> Operation:
    return Operation(summary, _MEMBER, body=body, body_required=not optional, errors=_MANAGE_ERRORS)


def _owner(summary: str, body: type | None = None, *, optional: bool = False) -> Operation:
    return Operation(summary, _OWNER, body=body, body_required=not optional, errors=_MANAGE_ERRORS)


def _page(summary: str, body: type | None, errors: tuple[int, ...], **kw: Any) -> Operation:
    answers = {200: PAGE, 303: REDIRECT}
    return Operation(
        summary, body=body, media=(FORM,), cookies=_PAGE_COOKIES, answers=answers,
        errors=errors, page=True, **kw,
    )  # fmt: skip


_TOKEN: Final = Operation(
    "Token endpoint (RFC 6749 3.2): every grant, form or JSON body",
    _CLIENT,
    body=(ClientAuthentication, TokenRequest),
    media=_OAUTH_BODY,
    headers={"x-otp-code": "the one-time code of a TOTP account (password grant)"},
    answers={200: Answer("tokens (RFC 6749 5.1)", TokenResponse)},
    errors=(400, 401, 413, 429),
    raw=True,
)
_INTROSPECT: Final = Operation(
    "Token introspection (RFC 7662)",
    _CLIENT,
    body=IntrospectionRequest,
    media=_OAUTH_BODY,
    answers={200: Answer("what the token is; `active: false` for anything else", Introspection)},
    errors=(400, 401, 413, 429),
    raw=True,
)
_USERINFO: Final = Operation("OpenID Connect UserInfo", _bearer("openid"), errors=(401, 403))
_AUTHORIZE_ERRORS: Final = (400, 429)

OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("get", "/healthz"): Operation("Liveness"),
    ("get", "/readyz"): Operation(
        "Readiness: PostgreSQL and NATS reachable",
        answers={200: Answer("ready", Readiness), 503: Answer("not ready", Readiness)},
    ),
    ("get", "/metrics"): Operation(
        "Prometheus metrics", answers={200: Answer("metrics", str, media=("text/plain",))}
    ),
    ("post", "/oauth/token"): _TOKEN,
    ("post", "/oauth/introspect"): _INTROSPECT,
    ("post", "/oauth/token/introspect"): _INTROSPECT,
    ("post", "/oauth/revoke"): Operation(
        "Token revocation (RFC 7009)",
        _CLIENT,
        body=RevocationRequest,
        media=_OAUTH_BODY,
        answers={200: Answer("revoked, or nothing of this client's to revoke (RFC 7009 2.2)")},
        errors=(400, 401, 413, 429),
    ),
    ("delete", "/oauth/token/{token_id}"): Operation(
        "Revoke a token or token family of the client by its jti or family id",
        _CLIENT_BASIC,
        answers={204: _NO_CONTENT},
        errors=(400, 401, 404, 429),
    ),
    ("delete", "/oauth/consents/{client_id}"): Operation(
        "The user withdraws their consent to the client holding the token",
        _bearer(),
        answers={204: _NO_CONTENT},
        errors=(401, 403, 404),
    ),
    ("get", "/.well-known/oauth-authorization-server"): Operation("RFC 8414 server metadata"),
    ("get", "/.well-known/openid-configuration"): Operation("OpenID Connect discovery"),
    ("get", "/.well-known/jwks.json"): Operation("The published signing keys (RFC 7517)"),
    ("get", "/oauth/userinfo"): _USERINFO,
    ("post", "/oauth/userinfo"): _USERINFO,
    ("get", "/oauth/authorize"): _page(
        "Authorization endpoint (RFC 6749 4.1.1): login or consent page, or a redirect",
        None,
        _AUTHORIZE_ERRORS,
        query=AuthorizationParameters,
    ),
    ("post", "/oauth/authorize"): _page(
        "Authorization endpoint, parameters as a form body",
        AuthorizationParameters,
        (*_AUTHORIZE_ERRORS, 413),
    ),
    ("post", "/oauth/authorize/login"): _page("The login form", LoginForm, (400, 403, 413, 429)),
    ("post", "/oauth/authorize/consent"): _page(
        "The consent form", ConsentForm, (400, 403, 413, 429)
    ),
    ("get", "/oauth/sso/callback"): _page(
        "The company identity provider's redirect back (single sign-on): consent or a code",
        None,
        (400, 403, 429),
        query=CallbackQuery,
    ),
    ("get", "/account"): _page("The account page", None, (429,), query=AccountQuery),
    ("post", "/account"): _page(
        "Sign in to the account page", AccountSignInForm, (400, 403, 413, 429)
    ),
    ("post", "/account/disconnect"): _page(
        "Withdraw consent to one application", DisconnectForm, (403, 404, 413, 429)
    ),
    ("post", "/account/sign-out"): _page("Sign out", SignOutForm, (403, 413, 429)),
    ("post", "/account/report"): _page(
        "Report a session or sign-in the user does not recognise",
        ReportForm,
        (403, 404, 413, 429),
    ),
    ("get", "/manage/clients"): _manage("List clients"),
    ("post", "/manage/clients"): _manage("Register a client", ClientRegistrationRequest),
    ("get", "/manage/clients/{client_id}"): _manage("A client's configuration and status"),
    ("post", "/manage/clients/{client_id}/rotate-secret"): _manage(
        "Rotate a client secret", SecretRotation, optional=True
    ),
    ("post", "/manage/clients/{client_id}/suspend"): _manage(
        "Suspend a client", ClientStatusChange, optional=True
    ),
    ("post", "/manage/clients/{client_id}/reinstate"): _manage(
        "Reinstate a client", ClientStatusChange, optional=True
    ),
    ("post", "/manage/clients/{client_id}/ban"): _manage(
        "Ban a client", ClientStatusChange, optional=True
    ),
    ("post", "/manage/users"): _manage("Create a user", UserCreation),
    ("post", "/manage/users/{username}/password"): _manage("Set a password", PasswordChange),
    ("post", "/manage/users/{username}/otp"): _manage("Enrol TOTP (the seed is shown once)"),
    ("post", "/manage/users/{username}/disable"): _manage(
        "Disable a user", UserDisabling, optional=True
    ),
    ("post", "/manage/users/{username}/revoke-tokens"): _manage(
        "Revoke every token of a user", TokensRevocation, optional=True
    ),
    ("post", "/manage/users/{username}/erase"): _manage(
        "Forget a user's personal data (disables the account, revokes its tokens)",
        UserErasing,
        optional=True,
    ),
    ("delete", "/manage/users/{username}/consents/{client_id}"): _manage(
        "Withdraw a user's consent to a client"
    ),
    ("post", "/manage/keys/rotate"): _manage("Rotate the signing keys"),
    ("post", "/manage/keys/{kid}/revoke"): _manage(
        "Revoke a signing key and every token it signed", TokensRevocation, optional=True
    ),
    ("post", "/manage/workspaces/{workspace_id}/revoke-tokens"): _manage(
        "Revoke every token of a workspace's clients", TokensRevocation, optional=True
    ),
    ("get", "/audit/events"): Operation(
        "Audit trail rows", _AUDITOR, query=EventsQuery, errors=(400, 401, 403)
    ),
    ("get", "/audit/users/{user_id}/timeline"): Operation(
        "One user's audit timeline", _AUDITOR, query=TimelineQuery, errors=(400, 401, 403)
    ),
    ("get", "/audit/export"): Operation(
        "Export audit rows",
        _AUDITOR,
        query=ExportQuery,
        answers={200: Answer("the rows", str, media=("application/x-ndjson", "text/csv"))},
        errors=(400, 401, 403),
    ),
    ("get", "/audit/point-in-time"): Operation(
        "What a user or client held at an instant",
        _AUDITOR,
        query=PointInTimeQuery,
        errors=(400, 401, 403),
    ),
    ("post", "/workspaces"): _member("Create a workspace", WorkspaceRequest),
    ("get", "/workspaces/{workspace_id}/members"): _member("The workspace's members"),
    ("post", "/workspaces/{workspace_id}/invitations"): _member("Invite a user", Invitation),
    ("post", "/workspaces/{workspace_id}/invitations/accept"): _member("Accept an invitation"),
    ("put", "/workspaces/{workspace_id}/members/{user_id}"): _member(
        "Change a member's role", RoleChange
    ),
    ("delete", "/workspaces/{workspace_id}/members/{user_id}"): _member("Remove a member"),
    ("get", "/workspaces/{workspace_id}/api-keys"): _member("The workspace's API keys"),
    ("post", "/workspaces/{workspace_id}/api-keys"): _member(
        "Create an API key (shown once)", ApiKeyRequest
    ),
    ("post", "/workspaces/{workspace_id}/api-keys/{key_id}/rotate"): _member(
        "Rotate an API key", ApiKeyRotation, optional=True
    ),
    ("delete", "/workspaces/{workspace_id}/api-keys/{key_id}"): _member(
        "Revoke an API key", ApiKeyRevocationRequest, optional=True
    ),
    ("post", "/workspaces/{workspace_id}/applications/{client_id}/cut-off"): _member(
        "The Owner cuts an application off"
    ),
    ("put", "/workspaces/{workspace_id}/sso"): _member(
        "Configure the workspace's single sign-on (an Owner or Admin)", SsoRequest
    ),
    ("get", "/workspaces/{workspace_id}/sso"): _member("The workspace's single sign-on"),
    ("delete", "/workspaces/{workspace_id}/sso"): _member(
        "Disable the workspace's single sign-on", SsoDisabling, optional=True
    ),
    ("post", "/connections"): _owner(
        "Start connecting an account at a provider", ConnectionRequest
    ),
    ("get", "/connections"): Operation(
        "The caller's connections, or a workspace's",
        _OWNER,
        query=ConnectionsQuery,
        errors=(400, 401, 403, 404),
    ),
    ("get", "/connections/callback"): Operation(
        "The provider's redirect back: the code is exchanged, the connection stored",
        query=CallbackQuery,
        answers={200: Answer("the connection", ConnectionView)},
        errors=(400, 403, 503),
    ),
    ("get", "/connections/{connection_id}"): _owner("A connection's status (never a token)"),
    ("delete", "/connections/{connection_id}"): _owner(
        "End a connection: the provider revokes its tokens", DisconnectRequest, optional=True
    ),
    ("get", "/manage/providers"): _manage("The operator's providers"),
    ("post", "/manage/providers"): _manage("Register a provider for every user", ProviderRequest),
    ("delete", "/manage/providers/{provider_id}"): _manage(
        "Remove a provider: no new connections", DisconnectRequest, optional=True
    ),
    ("get", "/workspaces/{workspace_id}/providers"): _owner("The workspace's own providers"),
    ("post", "/workspaces/{workspace_id}/providers"): _owner(
        "Register a provider of the workspace's own", ProviderRequest
    ),
    ("delete", "/workspaces/{workspace_id}/providers/{provider_id}"): _owner(
        "Remove a workspace's provider", DisconnectRequest, optional=True
    ),
    **CONSOLE_OPERATIONS,
    ("get", "/api-keys/current"): Operation(
        "The workspace API key presented", (_API_KEY,), errors=(400, 401)
    ),
}
