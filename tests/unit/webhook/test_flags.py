"""``okr run --webhook-*``: which combinations start, and what the others say."""

from __future__ import annotations

import subprocess
import sys

import pytest

from okr_operator.cli import parser, webhook

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        pytest.param([], None, id="webhook off by default"),
        pytest.param(
            ["--webhook-port", "9443", "--webhook-service", "okr-webhook"],
            None,
            id="issued certificate for the Service",
        ),
        pytest.param(
            ["--webhook-port", "9443", "--webhook-host", "::1", "--webhook-configuration", "okr"],
            None,
            id="issued certificate for a host, bundle kept",
        ),
        pytest.param(
            ["--webhook-port", "9443", "--webhook-cert-file", "c", "--webhook-key-file", "k"],
            None,
            id="certificate files from cert-manager",
        ),
        pytest.param(
            ["--webhook-service", "okr-webhook", "--webhook-configuration", "okr"],
            "--webhook-service, --webhook-configuration: only with --webhook-port",
            id="webhook flags without a port",
        ),
        pytest.param(
            ["--webhook-port", "9443"],
            "name --webhook-service or --webhook-host for the certificate the operator issues",
            id="nothing to issue a certificate for",
        ),
        pytest.param(
            ["--webhook-port", "9443", "--webhook-cert-file", "c"],
            "--webhook-cert-file and --webhook-key-file go together",
            id="certificate without its key",
        ),
        pytest.param(
            ["--webhook-port", "9443", "--webhook-host", "h", "--webhook-ca-file", "ca"],
            "--webhook-ca-file is the CA of --webhook-cert-file",
            id="a CA for an issued certificate",
        ),
        pytest.param(
            [
                "--webhook-port", "9443", "--webhook-cert-file", "c", "--webhook-key-file", "k",
                "--webhook-configuration", "okr",
            ],
            "--webhook-configuration with --webhook-cert-file needs --webhook-ca-file",
            id="bundle to keep without its CA",
        ),
    ],
)  # fmt: skip
def test_webhook_flags_should_be_checked_before_start(
    flags: list[str], problem: str | None
) -> None:
    args = parser().parse_args(["run", "-A", *flags])
    assert webhook.problem(args) == problem


def test_okr_run_should_exit_with_the_problem() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "okr_operator", "run", "-A", "--webhook-port", "9443"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (
        1,
        "okr run: name --webhook-service or --webhook-host for the certificate the operator issues",
    )
