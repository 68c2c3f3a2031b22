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

{{- define "acmehub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "acmehub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
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

{{- define "acmehub.embedded" -}}
{{- if eq .Values.mode "webhook-embedded" }}true{{ end -}}
{{- end -}}

{{/* Checks that fail the render with the reason. */}}
{{- define "acmehub.validate" -}}
{{- if not .Values.groupName -}}
{{- fail "groupName is required: the API group Issuers name as webhook.groupName (e.g. acme.example.org)" -}}
{{- end -}}
{{- if and (include "acmehub.embedded" .) (not .Values.server.domain) -}}
{{- fail "server.domain is required in mode webhook-embedded: the zone delegated to the embedded server" -}}
{{- end -}}
{{- if and .Values.server.registration.user (not .Values.server.registration.passwordSecret.name) -}}
{{- fail "server.registration.user needs server.registration.passwordSecret.name: the Secret holding the password" -}}
{{- end -}}
{{- if and (include "acmehub.embedded" .) (gt (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount > 1 needs a database several servers share: the embedded server's SQLite file is one pod's" -}}
{{- end -}}
{{- end -}}

{{/* The pod settings every pod template carries. */}}
{{- define "acmehub.podSpec" -}}
serviceAccountName: {{ include "acmehub.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
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
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
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
{{- with .Values.topologySpreadConstraints }}
topologySpreadConstraints:
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
