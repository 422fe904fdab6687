"""The Helm chart, rendered by the real helm binary.

Golden renders pin the templates we own. Content the chart copies from files other
tests own (CRDs, alert rules, dashboards) is replaced by a placeholder in the golden
files and checked here for exact equality with its source instead, so a change to a
rule or a CRD does not churn the chart's goldens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from okr_operator.handlers.admission import WEBHOOK_PATHS
from tests.support.golden import assert_golden
from tests.support.helm import (
    CHART_CRDS_DIR,
    CHART_DIR,
    CRDS_DIR,
    NAMESPACE,
    RELEASE,
    HelmError,
    documents,
    helm,
    of_kind,
    render,
)

pytestmark = pytest.mark.unit

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "helm"
RULES_FILE = CHART_DIR / "files" / "okr-rules.yaml"
DASHBOARDS_DIR = CHART_DIR / "dashboards"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"
PROMETHEUS_RULE_API = "monitoring.coreos.com/v1/PrometheusRule"

# The strings files/okr-rules.yaml uses for what the chart makes configurable.
RULES_GRAFANA_PLACEHOLDER = "https://grafana.example.com"
RULES_RUNBOOK_PLACEHOLDER = (
    "https://github.com/okr-operator/okr-operator/blob/main/docs/runbooks.md"
)
RULES_JOB_PLACEHOLDER = 'job="okr-operator"'

# Everything switched away from its default: the second golden case.
CUSTOM_VALUES: dict[str, Any] = {
    "fullnameOverride": "okr",
    "image": {"repository": "registry.example.org/okr/okr-operator", "tag": "0.2.0-rc.1"},
    "imagePullSecrets": [{"name": "regcred"}],
    "operator": {
        "watchNamespaces": ["team-payments", "team-platform"],
        "prometheusUrl": "http://prometheus-operated.monitoring.svc:9090",
        "statusInterval": "10m",
        "logLevel": "debug",
        "queryLanguage": "MetricsQL",
        "extraArgs": ["--concurrency", "64"],
        "extraEnv": [{"name": "TZ", "value": "Europe/Berlin"}],
    },
    "crds": {"install": True, "keep": False},
    "serviceAccount": {"annotations": {"example.com/role": "okr-reader"}},
    "podAnnotations": {"example.com/scrape": "false"},
    "podLabels": {"team": "platform"},
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}
    ],
    "priorityClassName": "system-cluster-critical",
    "metrics": {"port": 9100, "livenessPort": 9101, "job": "okr", "service": {"port": 80}},
    "webhook": {
        "port": 10443,
        "failurePolicy": "Fail",
        "timeoutSeconds": 10,
        "service": {"port": 8443},
        "certManager": {
            "enabled": True,
            "issuerRef": {"name": "company-ca", "kind": "ClusterIssuer"},
        },
    },
    "serviceMonitor": {
        "enabled": True,
        "force": True,
        "interval": "1m",
        "scrapeTimeout": "10s",
        "labels": {"release": "kube-prometheus-stack"},
    },
    "prometheusRule": {
        "enabled": True,
        "force": True,
        "labels": {"release": "kube-prometheus-stack"},
    },
    "grafana": {
        "url": "https://grafana.acme.example/",
        "dashboards": {"enabled": True, "namespace": "monitoring", "folder": "Company OKRs"},
    },
    "runbookBaseUrl": "https://wiki.acme.example/okr/runbooks",
    "web": {
        "port": 9102,
        "service": {"port": 8000, "annotations": {"example.com/expose": "internal"}},
    },
    "digest": {
        "enabled": True,
        "schedule": "30 8 * * 1-5",
        "timeZone": "Europe/Berlin",
        "format": "teams",
        "since": "1d",
        "namespace": "team-payments",
        "webhookSecret": {"name": "teams-webhook", "key": "workflow-url"},
        "webUrl": "https://okr.acme.example",
        "grafanaUrl": "https://grafana.acme.example",
    },
}


HA_VALUES: dict[str, Any] = {"ha": {"enabled": True}}


@dataclass(frozen=True)
class GoldenCase:
    name: str
    values: dict[str, Any] | None
    api_versions: tuple[str, ...] = ()


GOLDEN_CASES = [
    GoldenCase("default", None),
    GoldenCase("custom", CUSTOM_VALUES),
    # Two replicas with kopf peering: RollingUpdate, PodDisruptionBudget, peering CRD and RBAC.
    GoldenCase("ha", HA_VALUES),
]


def _placeholder(source: str) -> str:
    return f"<verbatim from {source}: checked by its own test>"


def normalise(rendered: str) -> str:
    """The render with volatile and foreign content replaced.

    Versions change with every release and would churn the goldens; CRDs, rules and
    dashboards belong to other owners and have their own exact tests below.
    """
    out: list[str] = []
    for raw in re.split(r"^---\n", rendered, flags=re.MULTILINE):
        if not raw.strip():
            continue
        doc = yaml.safe_load(raw)
        source = raw.splitlines()[0]
        kind = doc.get("kind") if doc else None
        if kind == "CustomResourceDefinition":
            plural, group = doc["metadata"]["name"].split(".", 1)
            doc["spec"] = _placeholder(f"crd-files/{group}_{plural}.yaml")
        elif kind == "PrometheusRule":
            doc["spec"]["groups"] = _placeholder("files/okr-rules.yaml")
        elif kind == "ConfigMap" and doc["metadata"]["labels"].get(
            "app.kubernetes.io/component"
        ) == ("dashboards"):
            doc["data"] = {key: _placeholder(f"dashboards/{key}") for key in doc["data"]}
        else:
            out.append("---\n" + raw)
            continue
        out.append("---\n" + source + "\n" + yaml.safe_dump(doc, sort_keys=False))
    text = "".join(out)
    text = re.sub(r"helm.sh/chart: okr-operator-\S+", "helm.sh/chart: okr-operator-<version>", text)
    return re.sub(
        r'app.kubernetes.io/version: "?[^"\s]+"?', "app.kubernetes.io/version: <version>", text
    )


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=lambda c: c.name)
def test_golden_render_should_match_the_reviewed_file(case: GoldenCase, tmp_path: Path) -> None:
    rendered = render(case.values, api_versions=case.api_versions, tmp_dir=tmp_path)
    assert_golden(normalise(rendered), GOLDEN_DIR / f"{case.name}.yaml")


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=lambda c: c.name)
def test_helm_lint_strict_should_pass(case: GoldenCase, tmp_path: Path) -> None:
    args = ["lint", "--strict", str(CHART_DIR)]
    if case.values is not None:
        values_file = tmp_path / "values.yaml"
        values_file.write_text(yaml.safe_dump(case.values), encoding="utf-8")
        args += ["--values", str(values_file)]
    output = helm(*args)
    assert "1 chart(s) linted, 0 chart(s) failed" in output


@dataclass(frozen=True)
class BadValues:
    name: str
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)


BAD_VALUES = [
    BadValues(
        "A status interval in words should be rejected",
        {"operator": {"statusInterval": "5 minutes"}},
        [
            "- at '/operator/statusInterval': '5 minutes' does not match pattern "
            "'^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$'"
        ],
    ),
    BadValues(
        "A replica count should be rejected: replicas come from ha.replicas, with peering",
        {"replicaCount": 2},
        ["- at '': additional properties 'replicaCount' not allowed"],
    ),
    BadValues(
        "An unknown pull policy should be rejected",
        {"image": {"pullPolicy": "Sometimes"}},
        ["- at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"],
    ),
    BadValues(
        "A port above 65535 should be rejected",
        {"metrics": {"port": 70000}},
        ["- at '/metrics/port': maximum: got 70,000, want 65,535"],
    ),
    BadValues(
        "A watched namespace that is no DNS label or pattern should be rejected",
        {"operator": {"watchNamespaces": ["Team_A"]}},
        ["- at '/operator/watchNamespaces/0': 'Team_A' does not match pattern '^!?[-a-z0-9*?]+$'"],
    ),
    BadValues(
        "A Grafana URL with a quote should be rejected because it lands inside alert annotations",
        {"grafana": {"url": 'https://grafana.example.org/"x'}},
        [
            # helm quotes the pattern Go-style: backslashes doubled, the quote escaped.
            "- at '/grafana/url': 'https://grafana.example.org/\"x' does not match pattern "
            r"""'^https?://[^\\s\'"\\\\]+$'"""
        ],
    ),
    BadValues(
        "A failure policy other than Ignore or Fail should be rejected",
        {"webhook": {"failurePolicy": "Retry"}},
        ["- at '/webhook/failurePolicy': value must be one of 'Ignore', 'Fail'"],
    ),
    BadValues(
        "A cert-manager issuer without a name should be rejected",
        {"webhook": {"certManager": {"enabled": True, "issuerRef": {"kind": "ClusterIssuer"}}}},
        [
            "- at '/webhook/certManager/issuerRef': 'anyOf' failed",
            "  - at '/webhook/certManager/issuerRef': maxProperties: got 1, want 0",
            "  - at '/webhook/certManager/issuerRef': missing property 'name'",
        ],
    ),
    BadValues(
        "A misspelt key should be rejected instead of silently ignored",
        {"serviceMonitor": {"enable": True}},
        ["- at '/serviceMonitor': additional properties 'enable' not allowed"],
    ),
]


def test_bad_values_table_should_cover_every_case() -> None:
    assert len(BAD_VALUES) == 9


@pytest.mark.parametrize("case", BAD_VALUES, ids=lambda c: c.name)
def test_values_schema_should_reject_bad_values(case: BadValues, tmp_path: Path) -> None:
    with pytest.raises(HelmError) as raised:
        render(case.values, tmp_dir=tmp_path)
    lines = str(raised.value).splitlines()
    assert lines[:2] == [
        "Error: values don't meet the specifications of the schema(s) in the following chart(s):",
        "okr-operator:",
    ]
    assert lines[2:] == case.errors


def test_chart_crds_should_be_byte_equal_to_the_repository_crds() -> None:
    # Sync with: cp crds/*.yaml helm/okr-operator/crd-files/ (make chart-crds).
    source = {path.name: path.read_bytes() for path in sorted(CRDS_DIR.glob("*.yaml"))}
    copy = {path.name: path.read_bytes() for path in sorted(CHART_CRDS_DIR.glob("*.yaml"))}
    assert source, "crds/ holds no CRDs"
    assert sorted(copy) == sorted(source), "helm/okr-operator/crd-files/ has other files than crds/"
    stale = [name for name in source if copy[name] != source[name]]
    assert stale == [], f"stale chart copies (run make chart-crds): {stale}"


def _chart_labels(app_version: str, chart_version: str) -> dict[str, str]:
    return {
        "helm.sh/chart": f"okr-operator-{chart_version}",
        "app.kubernetes.io/name": "okr-operator",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/version": app_version,
        "app.kubernetes.io/part-of": "okr-operator",
        "app.kubernetes.io/managed-by": "Helm",
    }


def _chart_meta() -> dict[str, str]:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text(encoding="utf-8"))
    return {"app_version": str(chart["appVersion"]), "chart_version": str(chart["version"])}


@pytest.mark.parametrize("keep", [True, False], ids=["keep on uninstall", "delete on uninstall"])
def test_rendered_crds_should_be_the_repository_crds_plus_chart_metadata(
    keep: bool, tmp_path: Path
) -> None:
    rendered = of_kind(
        render({"crds": {"keep": keep}}, tmp_dir=tmp_path), "CustomResourceDefinition"
    )
    expected = []
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        metadata = crd["metadata"]
        metadata["labels"] = {**_chart_labels(**_chart_meta()), **metadata.get("labels", {})}
        if keep:
            metadata["annotations"] = {
                "helm.sh/resource-policy": "keep",
                "argocd.argoproj.io/sync-options": "Delete=false,Prune=false",
                **metadata.get("annotations", {}),
            }
        expected.append(crd)
    by_name = sorted(rendered, key=lambda crd: crd["metadata"]["name"])
    assert by_name == sorted(expected, key=lambda crd: crd["metadata"]["name"])


def test_crds_install_false_should_render_no_crds(tmp_path: Path) -> None:
    rendered = render({"crds": {"install": False}}, tmp_dir=tmp_path)
    assert of_kind(rendered, "CustomResourceDefinition") == []


def test_prometheus_rule_should_carry_the_rules_file_with_this_release_urls_and_job(
    tmp_path: Path,
) -> None:
    source = RULES_FILE.read_text(encoding="utf-8")
    # The substitutions must find their placeholders, or the chart silently ships examples.
    assert source.count(RULES_GRAFANA_PLACEHOLDER) > 0
    assert source.count(RULES_RUNBOOK_PLACEHOLDER) > 0
    assert source.count(RULES_JOB_PLACEHOLDER) > 0
    values = {
        "prometheusRule": {"enabled": True},
        "grafana": {"url": "https://grafana.acme.example/"},
        "runbookBaseUrl": "https://wiki.acme.example/okr/runbooks",
        "metrics": {"job": "okr-prod"},
    }
    [rule] = of_kind(
        render(values, api_versions=[PROMETHEUS_RULE_API], tmp_dir=tmp_path), "PrometheusRule"
    )
    expected_text = (
        source.replace(RULES_GRAFANA_PLACEHOLDER, "https://grafana.acme.example")
        .replace(RULES_RUNBOOK_PLACEHOLDER, "https://wiki.acme.example/okr/runbooks")
        .replace(RULES_JOB_PLACEHOLDER, 'job="okr-prod"')
    )
    assert rule["spec"] == {"groups": yaml.safe_load(expected_text)["groups"]}
    dumped = yaml.safe_dump(rule["spec"])
    assert "grafana.example.com" not in dumped
    assert RULES_RUNBOOK_PLACEHOLDER not in dumped
    assert RULES_JOB_PLACEHOLDER not in dumped


@dataclass(frozen=True)
class GateCase:
    name: str
    enabled: bool
    force: bool
    api_served: bool
    rendered: bool


GATE_CASES = [
    GateCase(
        "Disabled should render nothing even when the API is served", False, False, True, False
    ),
    GateCase("Enabled should render when the API is served", True, False, True, True),
    GateCase("Enabled should render nothing when the API is not served", True, False, False, False),
    GateCase("Enabled and forced should render without the API", True, True, False, True),
    GateCase("Forced but disabled should render nothing", False, True, False, False),
]


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PrometheusRule"])
@pytest.mark.parametrize("case", GATE_CASES, ids=lambda c: c.name)
def test_prometheus_operator_kinds_should_follow_enabled_api_and_force(
    kind: str, case: GateCase, tmp_path: Path
) -> None:
    key = kind[0].lower() + kind[1:]
    api = f"monitoring.coreos.com/v1/{kind}"
    rendered = render(
        {key: {"enabled": case.enabled, "force": case.force}},
        api_versions=[api] if case.api_served else [],
        tmp_dir=tmp_path,
    )
    assert len(of_kind(rendered, kind)) == (1 if case.rendered else 0)


CORE_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["okr.dev"],
        "resources": ["keyresults", "objectives"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["okr.dev"],
        "resources": ["keyresults/status", "objectives/status"],
        "verbs": ["patch"],
    },
    {"apiGroups": ["okr.dev"], "resources": ["checkins"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["okr.dev"], "resources": ["checkins/status"], "verbs": ["patch"]},
    {
        "apiGroups": ["okr.dev"],
        "resources": ["prometheussources", "clusterprometheussources"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get"]},
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["get", "list", "watch"],
    },
]
NAMESPACE_RULE = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]}
WEBHOOK_CA_RULE = {
    "apiGroups": ["admissionregistration.k8s.io"],
    "resources": ["validatingwebhookconfigurations"],
    "resourceNames": [f"{RELEASE}-okr-operator"],
    "verbs": ["get", "patch"],
}
WEBHOOK_ARGS = [
    "--webhook-port",
    "9443",
    "--webhook-service",
    f"{RELEASE}-okr-operator-webhook",
    "--webhook-configuration",
    f"{RELEASE}-okr-operator",
]


@pytest.mark.parametrize(
    ("watch", "rules", "scope_args"),
    [
        pytest.param([], [*CORE_RULES, WEBHOOK_CA_RULE], ["--all-namespaces"], id="all namespaces"),
        pytest.param(
            ["team-a", "team-b"],
            [*CORE_RULES, WEBHOOK_CA_RULE, NAMESPACE_RULE],
            ["--namespace", "team-a", "--namespace", "team-b"],
            id="listed namespaces",
        ),
    ],
)
def test_rbac_and_arguments_should_follow_the_watched_namespaces(
    watch: list[str], rules: list[dict[str, Any]], scope_args: list[str], tmp_path: Path
) -> None:
    rendered = render({"operator": {"watchNamespaces": watch}}, tmp_dir=tmp_path)
    [role] = of_kind(rendered, "ClusterRole")
    assert role["rules"] == rules
    [deployment] = of_kind(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == [
        "run",
        *scope_args,
        "--status-interval",
        "5m",
        "--metrics-port",
        "8080",
        "--liveness-port",
        "8081",
        "--operator-namespace",
        "$(POD_NAMESPACE)",
        "--log-level",
        "info",
        "--query-language",
        "PromQL",
        "--web-port",
        "8082",
        *WEBHOOK_ARGS,
    ]


def test_rbac_create_false_should_render_no_rbac(tmp_path: Path) -> None:
    rendered = render({"rbac": {"create": False}}, tmp_dir=tmp_path)
    kinds = {doc["kind"] for doc in documents(rendered)}
    assert kinds.isdisjoint({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})


def test_dashboards_should_be_one_configmap_per_json_file_verbatim(tmp_path: Path) -> None:
    values = {
        "grafana": {
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "labelValue": "okr",
                "folder": "OKRs",
                "folderAnnotation": "k8s-sidecar-target-directory",
            }
        }
    }
    rendered = of_kind(render(values, tmp_dir=tmp_path), "ConfigMap")
    expected = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": f"{RELEASE}-okr-operator-dashboard-{path.stem}",
                "namespace": NAMESPACE,
                "labels": {
                    **_chart_labels(**_chart_meta()),
                    "app.kubernetes.io/component": "dashboards",
                    "grafana_dashboard": "okr",
                },
                "annotations": {"k8s-sidecar-target-directory": "OKRs"},
            },
            # |- strips the final newline: the file's content without its trailing one.
            "data": {path.name: path.read_text(encoding="utf-8").rstrip("\n")},
        }
        for path in sorted(DASHBOARDS_DIR.glob("*.json"))
    ]
    assert rendered == expected


def test_dashboards_disabled_should_render_no_configmap(tmp_path: Path) -> None:
    assert of_kind(render(None, tmp_dir=tmp_path), "ConfigMap") == []


def test_image_digest_should_win_over_the_tag(tmp_path: Path) -> None:
    digest = "sha256:" + "ab" * 32
    rendered = render({"image": {"tag": "9.9.9", "digest": digest}}, tmp_dir=tmp_path)
    [deployment] = of_kind(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/okr-operator/okr-operator@{digest}"


def _container(rendered: str) -> dict[str, Any]:
    [deployment] = of_kind(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def test_webhook_configuration_should_call_each_kopf_handler_through_the_service(
    tmp_path: Path,
) -> None:
    rendered = render({"webhook": {"timeoutSeconds": 7}}, tmp_dir=tmp_path)
    [config] = of_kind(rendered, "ValidatingWebhookConfiguration")
    assert config["metadata"]["name"] == f"{RELEASE}-okr-operator"
    assert "annotations" not in config["metadata"]
    scopes = {"clusterprometheussources": "Cluster"}
    expected = [
        {
            "name": f"{plural}.okr.dev",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": "Ignore",
            "timeoutSeconds": 7,
            "matchPolicy": "Equivalent",
            "rules": [
                {
                    "apiGroups": ["okr.dev"],
                    "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": [plural],
                    "scope": scopes.get(plural, "Namespaced"),
                }
            ],
            "clientConfig": {
                "service": {
                    "namespace": NAMESPACE,
                    "name": f"{RELEASE}-okr-operator-webhook",
                    "port": 443,
                    "path": f"/{handler_id}",
                }
            },
        }
        for handler_id, plural in WEBHOOK_PATHS.items()
    ]
    assert config["webhooks"] == expected
    services = {doc["metadata"]["name"]: doc for doc in of_kind(rendered, "Service")}
    webhook_service = services[f"{RELEASE}-okr-operator-webhook"]
    assert webhook_service["spec"]["ports"] == [
        {"name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"}
    ]
    ports = {port["name"]: port["containerPort"] for port in _container(rendered)["ports"]}
    assert ports["webhook"] == 9443
    assert of_kind(rendered, "Certificate") == of_kind(rendered, "Issuer") == []


def test_webhook_with_cert_manager_should_mount_its_secret_and_inject_its_ca(
    tmp_path: Path,
) -> None:
    rendered = render({"webhook": {"certManager": {"enabled": True}}}, tmp_dir=tmp_path)
    name = f"{RELEASE}-okr-operator-webhook"
    [config] = of_kind(rendered, "ValidatingWebhookConfiguration")
    assert config["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": f"{NAMESPACE}/{name}"
    }
    [certificate] = of_kind(rendered, "Certificate")
    assert certificate["spec"] == {
        "secretName": f"{name}-tls",
        "dnsNames": [f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"],
        "issuerRef": {"name": f"{name}-selfsigned", "kind": "Issuer"},
    }
    [issuer] = of_kind(rendered, "Issuer")
    assert (issuer["metadata"]["name"], issuer["spec"]) == (
        f"{name}-selfsigned",
        {"selfSigned": {}},
    )
    container = _container(rendered)
    assert container["args"][-6:] == [
        "--webhook-port",
        "9443",
        "--webhook-cert-file",
        "/etc/okr-operator/webhook/tls.crt",
        "--webhook-key-file",
        "/etc/okr-operator/webhook/tls.key",
    ]
    assert {"name": "webhook-tls", "mountPath": "/etc/okr-operator/webhook", "readOnly": True} in (
        container["volumeMounts"]
    )
    [deployment] = of_kind(rendered, "Deployment")
    assert {"name": "webhook-tls", "secret": {"secretName": f"{name}-tls"}} in deployment["spec"][
        "template"
    ]["spec"]["volumes"]
    # cainjector sets the bundle: the operator gets no access to webhook configurations.
    [role] = of_kind(rendered, "ClusterRole")
    assert role["rules"] == CORE_RULES


def test_webhook_with_a_named_issuer_should_render_no_issuer_of_its_own(tmp_path: Path) -> None:
    issuer_ref = {"name": "company-ca", "kind": "ClusterIssuer"}
    values = {"webhook": {"certManager": {"enabled": True, "issuerRef": issuer_ref}}}
    rendered = render(values, tmp_dir=tmp_path)
    [certificate] = of_kind(rendered, "Certificate")
    assert certificate["spec"]["issuerRef"] == issuer_ref
    assert of_kind(rendered, "Issuer") == []


def test_webhook_disabled_should_render_no_webhook_and_no_flags(tmp_path: Path) -> None:
    rendered = render({"webhook": {"enabled": False}}, tmp_dir=tmp_path)
    assert of_kind(rendered, "ValidatingWebhookConfiguration") == []
    assert sorted(doc["metadata"]["name"] for doc in of_kind(rendered, "Service")) == [
        f"{RELEASE}-okr-operator-metrics",
        f"{RELEASE}-okr-operator-web",
    ]
    container = _container(rendered)
    assert not [arg for arg in container["args"] if arg.startswith("--webhook")]
    assert "webhook" not in {port["name"] for port in container["ports"]}
    [role] = of_kind(rendered, "ClusterRole")
    assert role["rules"] == CORE_RULES


def _digest_values(**digest: Any) -> dict[str, Any]:
    return {"digest": {"enabled": True, "webhookSecret": {"name": "slack-webhook"}, **digest}}


def test_digest_disabled_should_render_no_cronjob(tmp_path: Path) -> None:
    assert of_kind(render(None, tmp_dir=tmp_path), "CronJob") == []


def test_digest_should_post_weekly_with_the_url_file_from_the_secret(tmp_path: Path) -> None:
    rendered = render(_digest_values(), tmp_dir=tmp_path)
    name = f"{RELEASE}-okr-operator-digest"
    [cronjob] = of_kind(rendered, "CronJob")
    assert cronjob["spec"]["schedule"] == "0 9 * * 1"
    assert "timeZone" not in cronjob["spec"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == name
    [container] = pod["containers"]
    assert container["args"] == [
        "digest",
        "--all-namespaces",
        "--since",
        "7d",
        "--format",
        "slack",
        "--webhook-url-file",
        "/etc/okr-digest/webhook-url",
    ]
    assert {"name": "webhook-url", "mountPath": "/etc/okr-digest", "readOnly": True} in container[
        "volumeMounts"
    ]
    assert {
        "name": "webhook-url",
        "secret": {"secretName": "slack-webhook", "items": [{"key": "url", "path": "webhook-url"}]},
    } in pod["volumes"]
    # The URL is a secret: never in the environment or the arguments.
    assert "env" not in container
    # Not the operator's pods: neither its Deployment nor its NetworkPolicy selects them.
    labels = cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    [deployment] = of_kind(rendered, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert not selector.items() <= labels.items()
    assert name in [a["metadata"]["name"] for a in of_kind(rendered, "ServiceAccount")]
    [role] = [r for r in of_kind(rendered, "ClusterRole") if r["metadata"]["name"] == name]
    assert role["rules"] == [
        {
            "apiGroups": ["okr.dev"],
            "resources": ["keyresults", "objectives"],
            "verbs": ["get", "list"],
        }
    ]
    [binding] = [
        b for b in of_kind(rendered, "ClusterRoleBinding") if b["metadata"]["name"] == name
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": name,
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}]


def test_digest_of_one_namespace_should_get_a_role_there_only(tmp_path: Path) -> None:
    rendered = render(
        _digest_values(namespace="team-ml", timeZone="Europe/Paris"), tmp_dir=tmp_path
    )
    [cronjob] = of_kind(rendered, "CronJob")
    assert cronjob["spec"]["timeZone"] == "Europe/Paris"
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"][1:3] == ["--namespace", "team-ml"]
    [role] = of_kind(rendered, "Role")
    [binding] = of_kind(rendered, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "team-ml"
    assert [r["metadata"]["name"] for r in of_kind(rendered, "ClusterRole")] == [
        f"{RELEASE}-okr-operator"
    ]


def test_digest_without_a_secret_should_fail_naming_the_value(tmp_path: Path) -> None:
    with pytest.raises(HelmError) as raised:
        render({"digest": {"enabled": True}}, tmp_dir=tmp_path)
    assert "digest.webhookSecret.name is required when digest.enabled is true" in str(raised.value)


def test_web_view_should_be_served_on_its_port_behind_its_own_service(tmp_path: Path) -> None:
    rendered = render({"web": {"port": 9000, "service": {"port": 8000}}}, tmp_dir=tmp_path)
    container = _container(rendered)
    flag = container["args"].index("--web-port")
    assert container["args"][flag + 1] == "9000"
    assert {"name": "web", "containerPort": 9000, "protocol": "TCP"} in container["ports"]
    services = {doc["metadata"]["name"]: doc for doc in of_kind(rendered, "Service")}
    assert services[f"{RELEASE}-okr-operator-web"]["spec"]["ports"] == [
        {"name": "web", "port": 8000, "targetPort": "web", "protocol": "TCP"}
    ]
    [policy] = [
        p for p in of_kind(rendered, "NetworkPolicy") if "digest" not in p["metadata"]["name"]
    ]
    assert {"ports": [{"port": "web", "protocol": "TCP"}]} in policy["spec"]["ingress"]


def test_web_view_disabled_should_render_no_flag_port_or_service(tmp_path: Path) -> None:
    rendered = render({"web": {"enabled": False}}, tmp_dir=tmp_path)
    container = _container(rendered)
    assert "--web-port" not in container["args"]
    assert "web" not in {port["name"] for port in container["ports"]}
    assert f"{RELEASE}-okr-operator-web" not in {
        doc["metadata"]["name"] for doc in of_kind(rendered, "Service")
    }
