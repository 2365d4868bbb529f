{{/*
Names, labels and the settings every SPICA-DB process reads. Settings are environment variables named
after the fields of spicadb_kit's settings classes (field `x`, upper-cased, after the SPICADB_ prefix);
tests/deploy checks that every SPICADB_* name used here is one of them.
*/}}

{{/* Chart name, for the app.kubernetes.io/name label. */}}
{{- define "spicadb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: <release>-spicadb, or the release name when it already says spicadb. */}}
{{- define "spicadb.fullname" -}}
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

{{/* Name of one service's resources. Call with (dict "root" $ "name" $name). */}}
{{- define "spicadb.serviceName" -}}
{{- printf "%s-%s" (include "spicadb.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "spicadb.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "spicadb.labels" -}}
helm.sh/chart: {{ include "spicadb.chart" . }}
{{ include "spicadb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spicadb
{{- end }}

{{/* Labels shared by every pod of the release (the NetworkPolicies trust them). */}}
{{- define "spicadb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spicadb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of one service's pods. Call with (dict "root" $ "name" $name). */}}
{{- define "spicadb.serviceSelectorLabels" -}}
{{ include "spicadb.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "spicadb.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Pod-level security: the image's fixed non-root user (deploy/service/Dockerfile), no service account token
(the services do not talk to the Kubernetes API).
*/}}
{{- define "spicadb.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Container-level security: read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "spicadb.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop:
      - ALL
{{- end }}

{{/*
NATS client URL: the NATS chart's service in this release (its fullname rule: the override, else the
release name when it contains "nats", else <release>-nats), or externalNats.url.
*/}}
{{- define "spicadb.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $host := printf "%s-nats" .Release.Name }}
{{- if .Values.nats.fullnameOverride }}
{{- $host = .Values.nats.fullnameOverride }}
{{- else if contains "nats" .Release.Name }}
{{- $host = .Release.Name }}
{{- end }}
{{- printf "nats://%s:%v" ($host | trunc 63 | trimSuffix "-") .Values.nats.config.nats.port }}
{{- else }}
{{- required "externalNats.url is required when nats.enabled is false" .Values.externalNats.url }}
{{- end }}
{{- end }}

{{/* JWKS URL: auth.jwksUrl, else the auth service of this release. */}}
{{- define "spicadb.jwksUrl" -}}
{{- if .Values.auth.jwksUrl }}
{{- .Values.auth.jwksUrl }}
{{- else if hasKey .Values.services "auth" }}
{{- printf "http://%s:%v/.well-known/jwks.json" (include "spicadb.serviceName" (dict "root" . "name" "auth")) (index .Values.services "auth").port }}
{{- else }}
{{- required "auth.jwksUrl is required when this release does not run the auth service" .Values.auth.jwksUrl }}
{{- end }}
{{- end }}

{{/*
Settings shared by every process, as a YAML map of variable -> value: the ConfigMap's data, and (through
fromYaml) the migration Job's env, since a pre-install hook runs before the ConfigMap exists.
*/}}
{{- define "spicadb.commonSettings" -}}
SPICADB_ENVIRONMENT: {{ .Values.environment | quote }}
SPICADB_LOG_LEVEL: {{ .Values.logLevel | quote }}
SPICADB_LOG_FORMAT: {{ .Values.logFormat | quote }}
# every interface of the pod, not its loopback
SPICADB_HOST: "0.0.0.0"
SPICADB_NATS_URL: {{ include "spicadb.natsUrl" . | quote }}
SPICADB_STREAM_REPLICAS: {{ .Values.streamReplicas | quote }}
SPICADB_OTEL_EXPORTER: {{ .Values.otel.exporter | quote }}
{{- with .Values.otel.endpoint }}
SPICADB_OTEL_ENDPOINT: {{ . | quote }}
{{- end }}
# the share of the traces that start in a service which are kept (the OpenTelemetry SDK's variable)
OTEL_TRACES_SAMPLER_ARG: {{ .Values.otel.sampleRatio | quote }}
{{- if .Values.services }}
SPICADB_TOKEN_ISSUER: {{ required "auth.issuer (the gateway's public URL) is required" .Values.auth.issuer | quote }}
SPICADB_TOKEN_AUDIENCE: {{ .Values.auth.audience | quote }}
SPICADB_JWKS_URL: {{ include "spicadb.jwksUrl" . | quote }}
{{- end }}
{{- end }}

{{/*
The CloudNativePG Cluster of the release (postgres.cnpg.enabled): its Services are <name>-rw (the
primary), -ro and -r; its Secrets <name>-superuser and <name>-app. Short enough for the operator's
derived names.
*/}}
{{- define "spicadb.postgresCluster" -}}
{{- printf "%s-postgres" (include "spicadb.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/* Secret of one service role's password (postgres.cnpg): <release>-spicadb-db-<name>. Call with (dict "root" $ "name" $name). */}}
{{- define "spicadb.roleSecret" -}}
{{- printf "%s-db-%s" (include "spicadb.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The database role of one service: services.<name>.database.user, else spicadb_<name> (ServiceSpec.role). Call with (dict "name" $name "svc" $svc). */}}
{{- define "spicadb.serviceRole" -}}
{{- $db := .svc.database | default dict }}
{{- $db.user | default (printf "spicadb_%s" (.name | replace "-" "_")) }}
{{- end }}

{{/* Secret of the gateway's session key: gateway.sessionKey.existingSecret, else the chart's (secret-session-key.yaml). */}}
{{- define "spicadb.sessionKeySecret" -}}
{{- .Values.gateway.sessionKey.existingSecret | default (printf "%s-session-key" (include "spicadb.fullname" .)) }}
{{- end }}

{{/* Secret of the first start's secrets, mounted in every auth replica. */}}
{{- define "spicadb.bootstrapSecret" -}}
{{- .Values.auth.bootstrapSecret.existingSecret | default (printf "%s-bootstrap" (include "spicadb.fullname" .)) }}
{{- end }}

{{/*
Database connection of one process, as env entries: the URL names the role and the server (the
CloudNativePG primary's Service, or postgres.host), the password comes from a Secret as PGPASSWORD
(asyncpg and libpq read it; a secretKeyRef), so it is neither in a URL nor in a ConfigMap and needs no
URL-escaping. Call with (dict "root" $ "user" <role> "secret" <Secret name or ""> "key" <its key>).
*/}}
{{- define "spicadb.databaseEnv" -}}
{{- $pg := .root.Values.postgres -}}
{{- $host := printf "%s-rw" (include "spicadb.postgresCluster" .root) -}}
{{- if not $pg.cnpg.enabled }}
{{- $host = required "postgres.host is required when postgres.cnpg.enabled is false" $pg.host -}}
{{- end }}
{{- $url := printf "postgresql://%s@%s:%v/%s" .user $host $pg.port $pg.database -}}
{{- if $pg.options }}
{{- $url = printf "%s?%s" $url $pg.options }}
{{- end -}}
- name: SPICADB_DATABASE_URL
  value: {{ $url | quote }}
{{- if .secret }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}
{{- end }}

{{/* A service's database env: its own role, its password from the chart's role Secret (cnpg) or
postgres.existingSecret. Call with (dict "root" $ "name" $name "svc" $svc). */}}
{{- define "spicadb.serviceDatabaseEnv" -}}
{{- $user := include "spicadb.serviceRole" (dict "name" .name "svc" .svc) }}
{{- if .root.Values.postgres.cnpg.enabled }}
{{- include "spicadb.databaseEnv" (dict "root" .root "user" $user "secret" (include "spicadb.roleSecret" (dict "root" .root "name" .name)) "key" "password") }}
{{- else }}
{{- $db := .svc.database | default dict }}
{{- include "spicadb.databaseEnv" (dict "root" .root "user" $user "secret" .root.Values.postgres.existingSecret "key" ($db.passwordKey | default $user)) }}
{{- end }}
{{- end }}

{{/* The migration Job's database env: a superuser (cnpg: postgres, from <cluster>-superuser). */}}
{{- define "spicadb.migrationDatabaseEnv" -}}
{{- if .Values.postgres.cnpg.enabled }}
{{- include "spicadb.databaseEnv" (dict "root" . "user" "postgres" "secret" (printf "%s-superuser" (include "spicadb.postgresCluster" .)) "key" "password") }}
{{- else }}
{{- include "spicadb.databaseEnv" (dict "root" . "user" .Values.postgres.migrationUser "secret" .Values.postgres.existingSecret "key" .Values.postgres.migrationPasswordKey) }}
{{- end }}
{{- end }}

{{/*
SPICADB_UPSTREAMS of the gateway: name=http://<service>:<port> for every other service of the release
(the gateway routes to those whose ServiceSpec declares routes, and ignores the rest).
*/}}
{{- define "spicadb.upstreams" -}}
{{- $upstreams := list }}
{{- range $name, $svc := .Values.services }}
{{- if ne $name "gateway" }}
{{- $upstreams = append $upstreams (printf "%s=http://%s:%v" $name (include "spicadb.serviceName" (dict "root" $ "name" $name)) $svc.port) }}
{{- end }}
{{- end }}
{{- join "," $upstreams }}
{{- end }}
