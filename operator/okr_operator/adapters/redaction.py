"""Keeping a source's credentials out of text that came back from its upstream.

An upstream (an auth proxy, a misconfigured gateway, a debugging endpoint) may
echo the request in its error body: ``Authorization: Bearer ...`` or
``Basic <base64 of user:password>``. Whatever an upstream or an exception says
reaches status conditions, Events and logs, so every such text passes through
the source's ``Redactor`` first, before it is shortened (a cut could leave
the first half of a token behind).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values would garble every message (a tenant header "a") and hide no
# secret worth the name; everything from three characters on is masked.
_MIN_SECRET = 3
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_userinfo(text: str) -> str:
    """Remove ``user:password@`` from any URL in ``text``."""
    return _USERINFO.sub(MASK + "@", text)


class Redactor:
    """Masks every given secret, in the forms an echo may carry it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) < _MIN_SECRET:
                continue
            # As sent, percent-encoded (query strings, redirects) and
            # JSON-escaped the way some encoders write "/" ("\/").
            forms.update({secret, quote(secret, safe=""), quote_plus(secret)})
            forms.add(secret.replace("/", "\\/"))
        ordered = sorted(forms, key=len, reverse=True)  # longest first: no half-masked token
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in ordered), re.IGNORECASE)
            if ordered
            else None
        )

    @classmethod
    def for_credentials(
        cls, *, headers: Mapping[str, str], basic_auth: tuple[str, str] | None
    ) -> Redactor:
        """Every header value (and its token without the scheme), user, password, base64 form."""
        secrets: list[str] = []
        for value in headers.values():
            secrets.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():  # "Bearer abc", "Basic YWJj"
                secrets.append(token.strip())
        if basic_auth is not None:
            user, password = basic_auth
            pair = f"{user}:{password}"
            encoded = base64.b64encode(pair.encode()).decode()
            secrets += [user, password, pair, encoded, encoded.rstrip("=")]
            secrets.append(base64.urlsafe_b64encode(pair.encode()).decode().rstrip("="))
        return cls(secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret and URL userinfo masked."""
        text = redact_userinfo(text)
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def value(self, value: Any) -> Any:
        """Every string inside a decoded JSON value, masked."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value
