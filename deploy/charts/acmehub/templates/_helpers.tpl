{{/* Names and labels. */}}
{{- define "acmehub.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "acmehub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
A name cut to at most max characters: names derived from the release, a
client or a config ID that would pass Kubernetes' limits (63 for most names
and for labels, 52 for CronJobs, whose Jobs add 11) keep their start and end
in a short hash of the whole, so that two long names sharing a prefix stay
distinct and every render of one name gives the same. Call with (dict "name"
$n "max" 63).
*/}}
{{- define "acmehub.cut" -}}
{{- if le (len .name) (int .max) -}}
{{- .name -}}
{{- else -}}
{{- printf "%s-%s" (trunc (sub (int .max) 9 | int) .name | trimSuffix "-" | trimSuffix ".") (sha256sum .name | trunc 8) -}}
{{- end -}}
{{- end -}}

{{/* An object of the release: fullname-suffix within 63 characters; call with (dict "root" $ "suffix" "dns"). */}}
{{- define "acmehub.component" -}}
{{- include "acmehub.cut" (dict "name" (printf "%s-%s" (include "acmehub.fullname" .root) .suffix) "max" 63) -}}
{{- end -}}

{{- define "acmehub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acmehub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Deployment's pods, which the Services, the PodDisruptionBudget and the NetworkPolicy select. */}}
{{- define "acmehub.mainSelectorLabels" -}}
{{ include "acmehub.selectorLabels" . }}
app.kubernetes.io/component: main
{{- end -}}

{{- define "acmehub.labels" -}}
{{ include "acmehub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "acmehub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "acmehub.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image, by digest when one is given: relocating it needs only image.registry. */}}
{{- define "acmehub.image" -}}
{{- $repo := printf "%s/%s" .Values.image.registry .Values.image.repository | trimPrefix "/" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* What the mode runs: "true" or "". */}}
{{- define "acmehub.webhook" -}}
{{- if has .Values.mode (list "webhook" "webhook-embedded") }}true{{ end -}}
{{- end -}}

{{- define "acmehub.server" -}}
{{- if has .Values.mode (list "server" "webhook-embedded") }}true{{ end -}}
{{- end -}}

{{- define "acmehub.hub" -}}
{{- if and .Values.hub.enabled (include "acmehub.server" .) }}true{{ end -}}
{{- end -}}

{{/* The chart's own CA: for the webhook's serving certificate, and the hub's unless another issuer signs it. */}}
{{- define "acmehub.pki" -}}
{{- if or (include "acmehub.webhook" .) (and (include "acmehub.hub" .) (eq .Values.hub.tls.mode "certificate") (not .Values.hub.tls.issuerRef.name)) }}true{{ end -}}
{{- end -}}

{{/* The Secret holding the hub's serving certificate, or "" without a hub or without TLS. */}}
{{- define "acmehub.hub.tlsSecret" -}}
{{- if include "acmehub.hub" . -}}
{{- if eq .Values.hub.tls.mode "certificate" -}}
{{- include "acmehub.component" (dict "root" . "suffix" "hub-tls") -}}
{{- else if eq .Values.hub.tls.mode "secret" -}}
{{- .Values.hub.tls.secretName -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
POST /register's basic auth, "true" when the release's server has it: on
unless registration is disabled or registration.open says otherwise.
*/}}
{{- define "acmehub.registration.auth" -}}
{{- $r := .Values.server.registration -}}
{{- if and (include "acmehub.server" .) (not $r.disabled) (not $r.open) }}true{{ end -}}
{{- end -}}

{{/* The Secret holding the registration password: the user's, or the one the chart creates. */}}
{{- define "acmehub.registration.secret" -}}
{{- $r := .Values.server.registration -}}
{{- if $r.passwordSecret.name -}}
{{- dict "name" $r.passwordSecret.name "key" (default "password" $r.passwordSecret.key) | toJson -}}
{{- else -}}
{{- dict "name" (include "acmehub.component" (dict "root" . "suffix" "registration")) "key" "password" | toJson -}}
{{- end -}}
{{- end -}}

{{- define "acmehub.sqlite" -}}
{{- if and (include "acmehub.server" .) (eq .Values.server.database.engine "sqlite") }}true{{ end -}}
{{- end -}}

{{/* The acme-dns API of this release's server, inside the cluster. */}}
{{- define "acmehub.apiURL" -}}
{{- printf "http://%s.%s.svc:%v" (include "acmehub.component" (dict "root" . "suffix" "api")) .Release.Namespace .Values.server.apiService.port -}}
{{- end -}}

{{/* The release's DNS Service inside the cluster, host:port. */}}
{{- define "acmehub.dnsAddress" -}}
{{- printf "%s.%s.svc:53" (include "acmehub.component" (dict "root" . "suffix" "dns")) .Release.Namespace -}}
{{- end -}}

{{/* Checks that fail the render with the reason. */}}
{{- define "acmehub.validate" -}}
{{- if and (include "acmehub.webhook" .) (not .Values.groupName) -}}
{{- fail "groupName is required: the API group Issuers name as webhook.groupName (e.g. acme.example.org)" -}}
{{- end -}}
{{- if and (include "acmehub.server" .) (not .Values.server.domain) -}}
{{- fail (printf "server.domain is required in mode %s: the zone delegated to the server" .Values.mode) -}}
{{- end -}}
{{- if and (include "acmehub.registration.auth" .) (not .Values.server.registration.user) -}}
{{- fail "server.registration.user is empty: /register's basic auth needs a user (or set server.registration.open: true to leave /register open, as acme-dns does)" -}}
{{- end -}}
{{- if and (include "acmehub.sqlite" .) (gt (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount > 1 needs server.database.engine postgres: the SQLite file is one pod's, and replicas would each keep different accounts" -}}
{{- end -}}
{{- if and (include "acmehub.server" .) (eq .Values.server.database.engine "postgres") (not .Values.server.database.connectionSecret.name) -}}
{{- fail "server.database.engine postgres needs server.database.connectionSecret.name: the Secret holding the postgres:// URL" -}}
{{- end -}}
{{- if and .Values.server.dnsService.nodePort (eq .Values.server.dnsService.type "ClusterIP") -}}
{{- fail "server.dnsService.nodePort needs server.dnsService.type NodePort or LoadBalancer: a ClusterIP Service has no node port" -}}
{{- end -}}
{{- if .Values.hub.enabled -}}
{{- if not (include "acmehub.server" .) -}}
{{- fail "hub.enabled needs a server: mode webhook-embedded or server (the hub runs in it, beside the acme-dns API)" -}}
{{- end -}}
{{- if not .Values.hub.keysSecret.name -}}
{{- fail "hub.enabled needs hub.keysSecret.name: an existing Secret with the hub's keys (acmehub admin keygen)" -}}
{{- end -}}
{{- if and (eq .Values.hub.tls.mode "secret") (not .Values.hub.tls.secretName) -}}
{{- fail "hub.tls.mode secret needs hub.tls.secretName: an existing kubernetes.io/tls Secret" -}}
{{- end -}}
{{- if eq .Values.hub.httpreqPrefix .Values.hub.acmeproxy.prefix -}}
{{- fail "hub.httpreqPrefix and hub.acmeproxy.prefix must differ" -}}
{{- end -}}
{{- $ids := dict -}}
{{- range .Values.hub.configs -}}
{{- if hasKey $ids .id -}}
{{- fail (printf "hub.configs: id %s appears twice" .id) -}}
{{- end -}}
{{- $_ := set $ids .id true -}}
{{- if and (ne .provider "self") (not (and .credentialsSecret .credentialsSecret.name)) -}}
{{- fail (printf "hub.configs %s: provider %s needs credentialsSecret.name" .id .provider) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $c := .Values.acmeClients -}}
{{- if and (not $c.api) (not (include "acmehub.server" $)) -}}
{{- fail (printf "acmeClients.%s.api is required in mode webhook: there is no server in this release to register with" $name) -}}
{{- end -}}
{{- if and (not $c.api) $.Values.server.registration.disabled -}}
{{- fail (printf "acmeClients.%s registers with this release's server, whose registration is disabled (server.registration.disabled): enable it or give acmeClients.%s.api" $name $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The names of one client's objects; call with (dict "root" $ "name" $name "c" $client). */}}
{{- define "acmehub.client.secretName" -}}
{{- printf "acme-dns-%s-client" .name -}}
{{- end -}}

{{- define "acmehub.client.secretNamespace" -}}
{{- default .root.Values.certManager.namespace .c.secretNamespace -}}
{{- end -}}

{{/* One client's objects: the client's fullname and a suffix, within max (dict ... "suffix" "check" "max" 52). */}}
{{- define "acmehub.client.object" -}}
{{- include "acmehub.cut" (dict "name" (printf "%s-%s-%s" (include "acmehub.fullname" .root) .name .suffix) "max" (default 63 .max)) -}}
{{- end -}}

{{/*
The check's schedule: one minute between 00:00 and 01:59, the same for every
render of the same release and client (a checksum of both names), so that
upgrades do not move it and clients do not all check at once.
*/}}
{{- define "acmehub.client.schedule" -}}
{{- $m := mod (atoi (adler32sum (printf "%s/%s" .root.Release.Name .name))) 120 -}}
{{- printf "%d %d * * *" (mod $m 60) (div $m 60) -}}
{{- end -}}

{{/*
The pod settings of a pod template. Call with (dict "root" $ "p" $settings
"serviceAccountName" $sa "extraPullSecrets" $list): $settings is .Values for
the Deployment and .Values.clientJobs for the Jobs; the global
imagePullSecrets are on every pod, the component's added.
*/}}
{{- define "acmehub.podSpec" -}}
{{- $p := .p -}}
serviceAccountName: {{ .serviceAccountName }}
{{- with .volumes }}
volumes:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with concat .root.Values.imagePullSecrets (default list .extraPullSecrets) | uniq }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- with $p.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $p.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $p.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $p.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $p.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod labels and annotations; call with (dict "root" $ "p" $settings "component" $c "annotations" $extra). */}}
{{- define "acmehub.podMetadata" -}}
labels:
  {{- include "acmehub.selectorLabels" .root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- with .p.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with merge (default (dict) .annotations) (default (dict) .p.podAnnotations) }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "acmehub.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* A ServiceAccount token projected for a hub, for the pod's volumes;
call with the hub's settings (url, audience, expirationSeconds). The
kubelet refreshes it before it expires; acmehub reads it where the mount
below puts it (its default --hub-token-file). */}}
{{- define "acmehub.hubToken.volume" -}}
- name: hub-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          audience: {{ default .url .audience | quote }}
          expirationSeconds: {{ default 600 .expirationSeconds }}
{{- end -}}

{{- define "acmehub.hubToken.mount" -}}
- name: hub-token
  mountPath: /var/run/secrets/acmehub/hub
  readOnly: true
{{- end -}}
