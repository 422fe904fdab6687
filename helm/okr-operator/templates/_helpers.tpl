{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. Kubernetes names are at most 63 characters. */}}
{{- define "okr-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: "<release>-<chart>", or the release name alone when
it already contains the chart name (so `helm install okr-operator .` gives "okr-operator").
*/}}
{{- define "okr-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "okr-operator-0.1.0": the helm.sh/chart label value ("+" is not allowed in labels). */}}
{{- define "okr-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "okr-operator.labels" -}}
helm.sh/chart: {{ include "okr-operator.chart" . }}
{{ include "okr-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: okr-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels the Deployment selects its pods by: immutable once installed, keep them few. */}}
{{- define "okr-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "okr-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "okr-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "okr-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest pins the image. */}}
{{- define "okr-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
True (non-empty) when a prometheus-operator kind should be rendered: the user enabled it,
and the cluster serves its API or the user forces it. Call with (list $ "ServiceMonitor" .Values.serviceMonitor).
*/}}
{{- define "okr-operator.monitoringKindWanted" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $values := index . 2 }}
{{- if and $values.enabled (or $values.force ($root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" $kind))) }}true{{ end }}
{{- end }}

{{/* The webhook's Service; the operator's issued certificate carries its DNS names. */}}
{{- define "okr-operator.webhookServiceName" -}}
{{- printf "%s-webhook" (include "okr-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The cert-manager Certificate and the Secret it writes (certManager mode). */}}
{{- define "okr-operator.webhookCertificateName" -}}
{{- printf "%s-webhook" (include "okr-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "okr-operator.webhookSecretName" -}}
{{- printf "%s-webhook-tls" (include "okr-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
