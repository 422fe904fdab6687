"""kubectl and raw API calls against the bench's kube-apiserver.

Every call names its kubeconfig explicitly: a test must never reach whatever
cluster the developer's own ``KUBECONFIG`` or ``~/.kube/config`` points at.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import REPO_ROOT, tool


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call; unlike its base class it shows stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr}"


def testenv_dir() -> Path:
    """The bench's state directory: ``$OKR_TESTENV_DIR`` (env.sh sets it) or ``.testenv``."""
    return Path(os.environ.get("OKR_TESTENV_DIR") or REPO_ROOT / ".testenv")


def kubectl(
    *args: str,
    input: str | None = None,  # noqa: A002 - the name subprocess.run uses
    kubeconfig: Path | str | None = None,
    check: bool = True,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run the pinned kubectl; ``kubeconfig`` defaults to the bench's admin one.

    With ``check`` a non-zero exit raises ``KubectlError`` (stderr included);
    without it, inspect ``returncode``/``stderr`` (for expected rejections).
    """
    config = Path(kubeconfig) if kubeconfig is not None else testenv_dir() / "kubeconfig"
    env = {
        **os.environ,
        # Per-bench discovery cache: stale entries of another bench or of a
        # deleted CRD would make kubectl misresolve kinds.
        "KUBECACHEDIR": str(testenv_dir() / "kubecache"),
    }
    result = subprocess.run(
        [tool("kubectl"), f"--kubeconfig={config}", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if check and result.returncode != 0:
        raise KubectlError(result.returncode, result.args, result.stdout, result.stderr)
    return result


def token_kubeconfig(server: str, ca_cert: Path, token: str, user: str, namespace: str) -> str:
    """A kubeconfig that authenticates with a bearer token (CA embedded)."""
    ca_data = base64.b64encode(ca_cert.read_bytes()).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "okr-testenv",
                "cluster": {"server": server, "certificate-authority-data": ca_data},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": user,
                "context": {"cluster": "okr-testenv", "user": user, "namespace": namespace},
            }
        ],
        "current-context": user,
    }
    return json.dumps(doc, indent=2)  # JSON is YAML: kubectl, kopf and the client read it


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any  # decoded JSON, or the text if the body was not JSON


def api_request(
    server: str,
    ca_cert: Path,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    client_cert: tuple[Path, Path] | None = None,
    content_type: str = "application/merge-patch+json",
) -> ApiResponse:
    """One raw HTTPS call to kube-apiserver; never raises for an HTTP error status.

    For asserting exact status codes and ``Status`` bodies (403, 422) that
    kubectl would only paraphrase.
    """
    context = ssl.create_default_context(cafile=str(ca_cert))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    request = urllib.request.Request(  # noqa: S310 - the bench's https URL
        f"{server}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        decoded: Any = json.loads(raw)
    except ValueError:
        decoded = raw.decode(errors="replace")
    return ApiResponse(status, decoded)
