"""Every secret is compared in constant time: enforced on the source, not by review.

The scan flags `==`, `!=`, `in` and `not in` between two non-literal operands when either
names a secret (a password, a token, a digest, a verifier, a MAC...). A flagged comparison
that is not a timing risk is listed in ALLOWED with the reason; anything else fails, so a
new `presented_secret == stored_secret` cannot slip in. The verification functions
themselves must go through `hmac.compare_digest` or argon2's `verify`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
SCANNED: Final = ("domain", "services", "infra")

# Words that make a name secret-ish (its snake_case parts, or the whole attribute chain).
_SECRET_WORDS: Final = frozenset({
    "secret", "secrets", "password", "passwords", "passwd", "digest", "digests", "token",
    "tokens", "verifier", "otp", "csrf", "mac", "signature", "seed", "hmac", "presented",
    "nonce", "challenge", "code",
})  # fmt: skip
# Parts that make a name plainly not a secret even beside one of the words above.
_NOT_SECRET: Final = frozenset({
    "type", "types", "hint", "kind", "id", "ids", "kid", "kids", "name", "names", "status",
    "prefix", "format", "method", "methods", "count", "length", "len", "endpoint", "error",
    "reason", "ttl", "at", "until", "scope", "scopes", "family", "grant", "path", "column",
    "jti", "uri", "redirect",
})  # fmt: skip
_CONSTANT: Final = re.compile(r"_?[A-Z][A-Z0-9_]*")

# (file, comparison as written) -> why it is no timing risk.
_PUBLIC_DIGESTS: Final = "digests of published log data, checked by auditors: nothing secret"
ALLOWED: Final[dict[tuple[str, str], str]] = {
    ("domain/audit_checkpoint.py", "order_digest(entries).hex() == checkpoint.order_sha256"):
        _PUBLIC_DIGESTS,
    ("domain/audit_checkpoint.py", "order_digest(within).hex() in (claimed.order_sha256, '')"):
        _PUBLIC_DIGESTS,
    ("services/audit_export.py", "self._hashes[index] != digest"): _PUBLIC_DIGESTS,
    ("domain/holdings.py", "token.digest == digest"):
        "the audit API replays the log, matching a rotation's spent digest to the token it"
        " spent: no presented credential is judged",
    ("domain/token_family.py", "command.presented in state.spent"):
        "the SHA-256 digest of a presented refresh token whose family was found by that"
        " digest; the digest's timing reveals nothing of a 256-bit token",
    ("domain/token_family.py", "command.presented != state.refresh_digest"):
        "as above: digests of a token already found by its digest",
}  # fmt: skip


def _parts(node: ast.AST) -> list[str]:
    """The snake_case words of the names an operand is made of."""
    words: list[str] = []
    for child in ast.walk(node):
        name = (
            child.id
            if isinstance(child, ast.Name)
            else (child.attr if isinstance(child, ast.Attribute) else None)
        )
        if isinstance(child, ast.Subscript) and isinstance(child.slice, ast.Constant):
            name = str(child.slice.value)
        if isinstance(child, ast.Call):
            # `len(token)`, `isinstance(...)`, `type(...)`: the result is no secret.
            func = child.func
            if isinstance(func, ast.Name) and func.id in ("len", "isinstance", "type", "bool"):
                return []
        if name:
            words.extend(re.split(r"_+", name.lower()))
    return words


def _secretish(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare | ast.BoolOp | ast.UnaryOp):
        return False  # a boolean
    if isinstance(node, ast.Constant | ast.Tuple | ast.Set | ast.List | ast.Dict):
        return False
    words = _parts(node)
    return bool(set(words) & _SECRET_WORDS) and not set(words) & _NOT_SECRET


def _literal(node: ast.AST) -> bool:
    """A constant, or a collection of constants: comparing with one reveals no secret."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name) and _CONSTANT.fullmatch(node.id):
        return True  # a module constant such as ALGORITHMS
    if isinstance(node, ast.Tuple | ast.Set | ast.List):
        return all(_literal(element) for element in node.elts)
    return False


def secret_comparisons(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every comparison of a secret with a non-literal."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn):
                continue
            if _literal(left) or _literal(right):
                continue
            # Membership is about the needle: `jti in revoked_tokens` compares no secret.
            membership = isinstance(op, ast.In | ast.NotIn)
            if _secretish(left) or (not membership and _secretish(right)):
                yield node.lineno, ast.unparse(node)


def _scanned() -> Iterator[Path]:
    for top in SCANNED:
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_secret_is_compared_with_an_ordinary_operator() -> None:
    found: dict[tuple[str, str], int] = {}
    for path in _scanned():
        relative = path.relative_to(ROOT).as_posix()
        for line, text in secret_comparisons(path.read_text()):
            found[(relative, text)] = line
    unexplained = sorted(f"{file}:{found[(file, text)]}: {text}"
                         for file, text in found.keys() - ALLOWED.keys())  # fmt: skip
    assert not unexplained, "compare secrets with hmac.compare_digest:\n" + "\n".join(unexplained)
    stale = sorted(ALLOWED.keys() - found.keys())
    assert not stale, f"ALLOWED names comparisons that are gone: {stale}"


@pytest.mark.parametrize(
    "source",
    [
        "if presented_secret == client.secret: pass",
        "ok = code_verifier != expected",
        "match = token in self.tokens",
        "same = digest(secret) == stored.digest",
        "valid = request.cookies['kl_csrf'] == form['csrf']",
        "if otp_code == expected_otp: pass",
        "if hmac_value == signature: pass",
    ],
)
def test_the_scan_catches_a_secret_compared_with_an_operator(source: str) -> None:
    assert list(secret_comparisons(source)), source


@pytest.mark.parametrize(
    "source",
    [
        "if token_type_hint == 'refresh_token': pass",
        "if record.kind != 'access': pass",
        "if secret is None: pass",
        "if len(token) > 10: pass",
        "ok = hmac.compare_digest(presented, expected)",
        "if client.client_id == record.client_id: pass",
        "if token == '': pass",
        "if grant_type in ('password', 'refresh_token'): pass",
    ],
)
def test_the_scan_lets_ordinary_comparisons_be(source: str) -> None:
    assert not list(secret_comparisons(source)), source


# The functions that decide whether a presented secret is right, and how each must compare.
VERIFIERS: Final = {
    ("infra/crypto/digests.py", "verify"): "compare_digest",  # client secrets, keyed
    ("infra/crypto/passwords.py", "verify_password"): "verify",  # argon2id
    ("domain/policies/pkce.py", "verify"): "compare_digest",  # code_verifier
    ("domain/policies/totp.py", "verify_totp"): "compare_digest",  # one-time codes
    ("services/api/pages/signed.py", "unseal"): "compare_digest",  # sealed requests, sessions
    ("services/api/pages/signed.py", "valid_form_token"): "compare_digest",  # CSRF
    ("domain/policies/redirect_uris.py", "matches_registered"): "compare_digest",
    ("services/clients.py", "authenticate"): "verify",  # through the keyed digests above
}


@pytest.mark.parametrize(("where", "call"), VERIFIERS.items(), ids=str)
def test_each_secret_check_uses_a_constant_time_comparison(
    where: tuple[str, str], call: str
) -> None:
    file, function = where
    tree = ast.parse((ROOT / file).read_text())
    found = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    ]  # fmt: skip
    assert len(found) == 1, f"{file} has no single function {function}"
    called = {
        node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        for node in ast.walk(found[0])
        if isinstance(node, ast.Call)
    }
    assert call in called, f"{file}:{function} does not call {call}"
