"""The pages' HTML, from the standard library: every interpolated value goes through `escape`.

No script and no external resource: the pages work under `default-src 'none'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from string import Template
from typing import Final

from services.api.pages.messages import Lang, Messages

__all__ = [
    "AppView",
    "ScopeView",
    "account_hidden",
    "account_page",
    "account_sign_in_page",
    "consent_page",
    "error_page",
    "login_page",
    "sso_redirect_page",
]

_LAYOUT: Final = Template("""<!doctype html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2433;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}
small{color:#5a6275}
.error{background:#fdecea;color:#8a1c12;padding:.6rem .8rem;border-radius:4px}
.scope{border-top:1px solid #e3e5ea;padding:.6rem 0}
.scope h2{font-size:1rem;margin:.2rem 0;font-family:monospace}
dt{font-weight:600;margin-top:.3rem}
dd{margin:0}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{flex:1;padding:.6rem;font:inherit;border-radius:4px;border:1px solid #1d2433;cursor:pointer}
button.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.notice{background:#e7f5ec;color:#14532d;padding:.6rem .8rem;border-radius:4px}
.app{border-top:1px solid #e3e5ea;padding:.6rem 0}
.app h2{font-size:1.1rem;margin:.2rem 0}
.app ul{margin:.3rem 0;padding-left:1.2rem}
</style>
</head>
<body><main>
$body
</main></body>
</html>
""")


@dataclass(frozen=True, slots=True)
class ScopeView:
    """One line of the consent page: the scope, what it opens, why, and for how long."""

    scope: str
    data: str
    why: str
    how_long: str


def _layout(lang: Lang, title: str, body: str) -> str:
    return _LAYOUT.substitute(lang=escape(lang), title=escape(title), body=body)


def _hidden(lang: Lang, sealed_request: str, csrf: str) -> str:
    return (
        f'<input type="hidden" name="request" value="{escape(sealed_request)}">\n'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">\n'
        f'<input type="hidden" name="lang" value="{escape(lang)}">'
    )


def _alert(error: str | None) -> str:
    return f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else ""


def _notice(notice: str | None) -> str:
    return f'<p class="notice" role="status" id="notice">{escape(notice)}</p>' if notice else ""


def _sign_in_form(
    text: Messages, *, lead: str, action: str, hidden: str, username: str, error: str | None,
    sso: bool = False,
) -> str:  # fmt: skip
    """The sign-in form; `lead` and `hidden` are HTML already escaped."""
    # The first field to type into: the password is never sent back, the username is.
    autofocus = ("", " autofocus") if username else (" autofocus", "")
    submit = escape(text.sign_in)
    return f"""<h1>{escape(text.sign_in_title)}</h1>
<p>{lead}</p>
{_alert(error)}
<form method="post" action="{escape(action)}">
{hidden}
<label for="username">{escape(text.username)}</label>
<input id="username" name="username" autocomplete="username" required
 value="{escape(username)}"{autofocus[0]}>
<label for="password">{escape(text.password)}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
{autofocus[1]}>
<label for="otp">{escape(text.otp)}</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code"
 pattern="[0-9]{{6,8}}" maxlength="8">
<small>{escape(text.otp_hint)}</small>
<div class="actions"><button class="primary" id="sign-in" type="submit">{submit}</button></div>
{_sso_button(text) if sso else ""}</form>"""


def _sso_button(text: Messages) -> str:
    """Only the username (a work email) is needed: the password is the provider's business."""
    return f"""<div class="actions"><button id="sign-in-sso" type="submit" name="sso" value="1"
 formnovalidate>{escape(text.sso_button)}</button></div>
<small>{escape(text.sso_hint)}</small>
"""


def login_page(
    text: Messages,
    lang: Lang,
    *,
    client_name: str,
    sealed_request: str,
    csrf: str,
    username: str = "",
    error: str | None = None,
) -> str:
    lead = escape(text.sign_in_lead).format(client=f"<strong>{escape(client_name)}</strong>")
    hidden = _hidden(lang, sealed_request, csrf)
    body = _sign_in_form(
        text, lead=lead, action="/oauth/authorize/login", hidden=hidden, username=username,
        error=error, sso=True,
    )  # fmt: skip
    return _layout(lang, text.sign_in_title, body)


def sso_redirect_page(
    text: Messages, lang: Lang, url: str, host: str, *, back: bool = False
) -> str:
    """On to the company's provider, or back to the application from it: a refresh, not a
    redirect, after a form (no script is allowed, and Chromium applies the form page's
    `form-action` to every redirect that follows, to any other origin)."""
    title, lead = (
        (text.sso_back_title, text.sso_back_lead) if back
        else (text.sso_redirect_title, text.sso_redirect_lead)
    )  # fmt: skip
    lead = escape(lead).format(host=f"<strong>{escape(host)}</strong>")
    body = f"""<h1>{escape(title)}</h1>
<p>{lead}</p>
<p><a id="continue-sso" href="{escape(url)}">{escape(text.sso_continue)}</a></p>"""
    refresh = f'<meta http-equiv="refresh" content="0;url={escape(url)}">\n</head>'
    return _layout(lang, title, body).replace("</head>", refresh, 1)


def _scope(view: ScopeView, text: Messages) -> str:
    return f"""<section class="scope" data-scope="{escape(view.scope)}">
<h2>{escape(view.scope)}</h2>
<dl>
<dt>{escape(text.data)}</dt><dd class="data">{escape(view.data)}</dd>
<dt>{escape(text.why)}</dt><dd class="why">{escape(view.why)}</dd>
<dt>{escape(text.how_long)}</dt><dd class="how-long">{escape(view.how_long)}</dd>
</dl>
</section>"""


def consent_page(
    text: Messages,
    lang: Lang,
    *,
    client_name: str,
    scopes: Sequence[ScopeView],
    sealed_request: str,
    csrf: str,
) -> str:
    lead = escape(text.consent_lead).format(client=f"<strong>{escape(client_name)}</strong>")
    approve, deny = escape(text.approve), escape(text.deny)
    body = f"""<h1>{escape(text.consent_title)}</h1>
<p>{lead}</p>
{"".join(_scope(view, text) for view in scopes)}
<form method="post" action="/oauth/authorize/consent">
{_hidden(lang, sealed_request, csrf)}
<div class="actions">
<button id="deny" type="submit" name="decision" value="deny">{deny}</button>
<button class="primary" id="approve" type="submit" name="decision"
 value="approve">{approve}</button>
</div>
</form>"""
    return _layout(lang, text.consent_title, body)


def error_page(text: Messages, lang: Lang, detail: str, *, back: str | None = None) -> str:
    link = ""
    if back is not None:
        link = f'\n<p><a id="back" href="{escape(back)}">{escape(text.back_to_account)}</a></p>'
    body = f"""<h1>{escape(text.error_title)}</h1>
<p class="error" role="alert" id="error">{escape(detail)}</p>{link}"""
    return _layout(lang, text.error_title, body)


@dataclass(frozen=True, slots=True)
class AppView:
    """One connected application on the account page: what it may access, and since when."""

    client_id: str
    name: str
    since: str  # in words
    since_iso: str
    # (scope, what it gives access to, in words)
    scopes: tuple[tuple[str, str], ...]
    until: str = ""  # in words: until disconnected, how long each access lasts


def account_hidden(lang: Lang, csrf: str) -> str:
    return (
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">\n'
        f'<input type="hidden" name="lang" value="{escape(lang)}">'
    )


def account_sign_in_page(
    text: Messages,
    lang: Lang,
    *,
    csrf: str,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> str:
    lead = escape(text.account_sign_in_lead)
    form = _sign_in_form(
        text, lead=lead, action="/account", hidden=account_hidden(lang, csrf), username=username,
        error=error,
    )  # fmt: skip
    return _layout(lang, text.sign_in_title, _notice(notice) + form)


def _app(view: AppView, text: Messages, hidden: str) -> str:
    since = escape(text.connected_since).format(
        date=f'<time datetime="{escape(view.since_iso)}">{escape(view.since)}</time>'
    )
    scopes = "".join(
        f'<li data-scope="{escape(scope)}">{escape(words)}</li>' for scope, words in view.scopes
    )
    return f"""<section class="app" data-client="{escape(view.client_id)}">
<h2>{escape(view.name)}</h2>
<p class="since">{since}</p>
{f'<p class="until">{escape(view.until)}</p>' if view.until else ""}
<ul class="scopes">{scopes}</ul>
<form method="post" action="/account/disconnect">
{hidden}
<input type="hidden" name="client_id" value="{escape(view.client_id)}">
<button class="disconnect" type="submit">{escape(text.disconnect)}</button>
</form>
</section>"""


def account_page(
    text: Messages,
    lang: Lang,
    *,
    apps: Sequence[AppView],
    csrf: str,
    notice: str | None = None,
    activity: str = "",
) -> str:
    """`activity` is the sessions and sign-ins sections, HTML already escaped."""
    hidden = account_hidden(lang, csrf)
    listed = "".join(_app(view, text, hidden) for view in apps)
    lead = escape(text.account_lead if apps else text.no_applications)
    body = f"""<h1>{escape(text.account_title)}</h1>
{_notice(notice)}
<p id="lead">{lead}</p>
{listed}
{activity}
<form method="post" action="/account/sign-out">
{hidden}
<div class="actions"><button id="sign-out" type="submit">{escape(text.sign_out)}</button></div>
</form>"""
    return _layout(lang, text.account_title, body)
