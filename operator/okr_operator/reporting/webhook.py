"""Posting a digest to a chat webhook (Slack incoming webhook, Teams workflow).

A webhook URL is a credential: whoever has it can post to the channel. It is
read from a file (a mounted Secret), and no message here ever contains it, not
even the path of the URL that requests would put in its exceptions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

TIMEOUT_SECONDS = 30


class WebhookError(RuntimeError):
    """The webhook could not be read or refused the message; never carries the URL."""


def read_url(path: Path) -> str:
    """The URL in ``path`` (surrounding whitespace ignored)."""
    try:
        url = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise WebhookError(f"cannot read the webhook URL from {path}: {err.strerror}") from None
    if not url.startswith(("https://", "http://")):
        raise WebhookError(f"{path} does not hold an http(s) URL")
    return url


def post(url: str, body: dict[str, Any]) -> None:
    """POST ``body`` as JSON; a non-2xx answer or a transport failure raises WebhookError."""
    try:
        response = requests.post(
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
    except requests.RequestException as err:
        # str(err) names the URL with its secret path: say only what kind of failure it was.
        raise WebhookError(f"the webhook could not be reached ({type(err).__name__})") from None
    if not 200 <= response.status_code < 300:
        answer = response.text.strip()[:200]
        raise WebhookError(f"the webhook answered {response.status_code}: {answer}")
