"""The console's HTML: one layout, tables and forms; every interpolated value is escaped.

No script and no external resource: the one stylesheet is inline under the page's CSP nonce,
charts are inline SVG, and everything works with the keyboard (native links, buttons and
labelled fields, a skip link, visible focus).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final

__all__ = ["Cell", "Viewer", "field", "form", "layout", "notice", "table"]

_STYLE: Final = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2433;background:#f4f5f7}
a{color:#1d4ed8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,
textarea:focus-visible{outline:3px solid #b45309;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.4rem}
header{background:#1d2433;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;flex-wrap:wrap;
align-items:center}
header a{color:#fff}header nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0;
flex-wrap:wrap}
header form{margin-left:auto}header .who{color:#e5e7eb}
main{max-width:72rem;margin:1.2rem auto;background:#fff;padding:1.2rem 1.6rem;border-radius:6px;
overflow-x:auto}
h1{font-size:1.4rem;margin-top:0}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}
th,td{border-bottom:1px solid #d8dbe2;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4}td code,td.mono{font-family:ui-monospace,monospace;font-size:.85rem}
tr.failure td{background:#fdecea;color:#7a1a10}tr.warning td{background:#fff4d6;color:#5c3d00}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-weight:600}
.badge.failure{background:#7a1a10;color:#fff}.badge.success{background:#14532d;color:#fff}
.badge.warning{background:#5c3d00;color:#fff}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.6rem}
label{display:block;font-weight:600;margin-bottom:.15rem}
input,select,textarea{font:inherit;padding:.3rem;width:100%;box-sizing:border-box}
button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #1d2433;
background:#fff;cursor:pointer}
button.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
button.danger{background:#7a1a10;border-color:#7a1a10;color:#fff}
.actions{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap;margin:.6rem 0}
.notice{background:#e7f5ec;color:#14532d;padding:.5rem .8rem;border-radius:4px}
.error{background:#fdecea;color:#7a1a10;padding:.5rem .8rem;border-radius:4px}
.secret{font-family:ui-monospace,monospace;background:#fff4d6;padding:.5rem;word-break:break-all}
figure{margin:.6rem 0}figcaption{color:#4b5366;font-size:.9rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dl.facts dt{font-weight:600}
"""

_NAV: Final = (
    ("compliance", "/console/audit", "Audit trail"),
    ("compliance", "/console/audit/timeline", "User timeline"),
    ("compliance", "/console/audit/at", "Access as of"),
    ("compliance", "/console/integrity", "Integrity"),
    ("operator", "/console/clients", "Clients"),
    ("operator", "/console/keys", "Signing keys"),
    ("operator", "/console/workspaces", "Workspaces"),
    ("operator", "/console/status", "Status"),
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who the page is for: their name, roles and the CSRF token of their forms."""

    username: str
    roles: frozenset[str]
    csrf: str


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: text (escaped here) or `html` already escaped by its maker."""

    text: str = ""
    html: str | None = None
    mono: bool = False


def _nav(viewer: Viewer | None) -> str:
    if viewer is None:
        return ""
    links = "".join(
        f'<li><a href="{href}">{escape(label)}</a></li>'
        for role, href, label in _NAV
        if role in viewer.roles
    )
    return (
        f'<nav aria-label="Console"><ul><li><a href="/console">Console</a></li>{links}</ul></nav>'
        f'<span class="who">Signed in as {escape(viewer.username)}</span>'
        f'<form method="post" action="/console/sign-out">'
        f'<input type="hidden" name="csrf" value="{escape(viewer.csrf)}">'
        f'<button id="sign-out" type="submit">Sign out</button></form>'
    )


def layout(
    title: str, body: str, *, nonce: str, viewer: Viewer | None, refresh_s: int | None = None
) -> str:
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_s)}">' if refresh_s else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
{refresh}<title>{escape(title)} · keyledger console</title>
<style nonce="{escape(nonce)}">{_STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><strong>keyledger console</strong>{_nav(viewer)}</header>
<main id="main">
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>
"""


def notice(text: str | None, *, error: bool = False) -> str:
    if not text:
        return ""
    if error:
        return f'<p class="error" role="alert" id="error">{escape(text)}</p>'
    return f'<p class="notice" role="status" id="notice">{escape(text)}</p>'


def _cell(cell: Cell | str) -> str:
    if isinstance(cell, str):
        return f"<td>{escape(cell)}</td>"
    content = cell.html if cell.html is not None else escape(cell.text)
    return f'<td class="mono">{content}</td>' if cell.mono else f"<td>{content}</td>"


def table(
    caption: str,
    headers: Sequence[str],
    rows: Iterable[tuple[str, Sequence[Cell | str]]],
    *,
    table_id: str = "",
    empty: str = "Nothing to show.",
) -> str:
    """A table; each row is (its class, e.g. "failure", or "", and its cells)."""
    body = "".join(
        f'<tr class="{escape(kind)}">' + "".join(_cell(c) for c in cells) + "</tr>"
        if kind
        else "<tr>" + "".join(_cell(c) for c in cells) + "</tr>"
        for kind, cells in rows
    )
    if not body:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return (
        f"<table{ident}><caption>{escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def field(
    name: str, label: str, value: str | None = "", *, kind: str = "text", **attrs: str
) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{escape(val)}"' for key, val in attrs.items())
    return (
        f'<div><label for="f-{escape(name)}">{escape(label)}</label>'
        f'<input id="f-{escape(name)}" name="{escape(name)}" type="{escape(kind)}"'
        f' value="{escape(value or "")}"{extra}></div>'
    )


def form(
    action: str,
    csrf: str,
    inner: str,
    *,
    button: str,
    button_class: str = "primary",
    button_id: str = "",
) -> str:
    ident = f' id="{escape(button_id)}"' if button_id else ""
    return (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">{inner}'
        f'<div class="actions"><button class="{escape(button_class)}"{ident} type="submit">'
        f"{escape(button)}</button></div></form>"
    )
