{{/* The namespace of every namespaced object. */}}
{{- define "coldbrew.namespace" -}}
{{- .Values.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* Labels common to every object; pass (dict "ctx" $ "component" "gateway"). */}}
{{- define "coldbrew.labels" -}}
app.kubernetes.io/name: coldbrew
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service | quote }}
app.kubernetes.io/part-of: coldbrew
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | quote }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Selector labels of a component's pods. */}}
{{- define "coldbrew.selectorLabels" -}}
app.kubernetes.io/name: coldbrew
app.kubernetes.io/instance: {{ .ctx.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "coldbrew.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* In-cluster URLs the components use to reach each other. */}}
{{- define "coldbrew.statsURL" -}}
{{- printf "ws://coldbrew-autoscaler.%s.svc:8081/autoscaler/stream" (include "coldbrew.namespace" .) -}}
{{- end -}}

{{- define "coldbrew.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "coldbrew.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
{{- end -}}

{{/* Readiness and liveness on the admin port's /healthz (every component). */}}
{{- define "coldbrew.probes" -}}
readinessProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
{{- end -}}

{{/* Pod-level fields shared by every Deployment; pass (dict "ctx" $ "spec" .Values.gateway "sa" "coldbrew-gateway"). */}}
{{- define "coldbrew.podCommon" -}}
serviceAccountName: {{ .sa }}
automountServiceAccountToken: true
enableServiceLinks: false
securityContext:
  {{- include "coldbrew.podSecurityContext" .ctx | nindent 2 }}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Environment shared by every container. */}}
{{- define "coldbrew.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: SYSTEM_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: HOME
  value: /tmp
{{- end -}}

{{/* Pod annotations for annotation-based Prometheus discovery: /metrics on the admin port. */}}
{{- define "coldbrew.scrapeAnnotations" -}}
{{- if .Values.metrics.podAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: "8081"
prometheus.io/path: /metrics
{{- end -}}
{{- end -}}
