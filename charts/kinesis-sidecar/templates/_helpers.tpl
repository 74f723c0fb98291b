{{/*
Names and labels.
*/}}
{{- define "kinesis-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kinesis-sidecar.fullname" -}}
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

{{- define "kinesis-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kinesis-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kinesis-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kinesis-sidecar.labels" -}}
helm.sh/chart: {{ include "kinesis-sidecar.chart" . }}
{{ include "kinesis-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kinesis-sidecar
{{- end }}

{{- define "kinesis-sidecar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kinesis-sidecar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kinesis-sidecar.configMapName" -}}
{{- printf "%s-config" (include "kinesis-sidecar.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The admin HTTP port, read off config.http.address (host:port).
*/}}
{{- define "kinesis-sidecar.adminPort" -}}
{{- $addr := .http.address | default "0.0.0.0:4195" }}
{{- splitList ":" $addr | last | int }}
{{- end }}

{{/* ---------------------------------------------------------------------------------
Named templates for charts that add kinesis-sidecar to their own pod spec.
Each takes a dict:
  values         the kinesis-sidecar values (image, sidecar, config, recordsVolume, aws),
                 e.g. (index .Values "kinesis-sidecar") when this chart is a dependency
  configMapName  the ConfigMap holding config.yaml (from "kinesis-sidecar.configMap" or yours)
See README.md, "Use the sidecar in your own chart".
--------------------------------------------------------------------------------- */}}

{{/*
kinesis-sidecar.config: the sidecar config.yaml text.
*/}}
{{- define "kinesis-sidecar.config" -}}
{{- $cfg := deepCopy .values.config }}
{{- $out := $cfg.output | default dict }}
{{- /* One output: websocket when set (it overrides the default fifo), else fifo. */}}
{{- if $out.websocket }}
{{- $_ := set $cfg "output" (dict "websocket" $out.websocket) }}
{{- else if $out.fifo }}
{{- $_ := set $cfg "output" (dict "fifo" $out.fifo) }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
kinesis-sidecar.configMap: a ConfigMap holding config.yaml. Extra keys: name, labels (YAML text).
*/}}
{{- define "kinesis-sidecar.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  {{- with .labels }}
  labels:
    {{- . | nindent 4 }}
  {{- end }}
data:
  config.yaml: |
    {{- include "kinesis-sidecar.config" . | nindent 4 }}
{{- end }}

{{/*
kinesis-sidecar.container: the native sidecar, one entry for the pod's initContainers.
*/}}
{{- define "kinesis-sidecar.container" -}}
{{- $v := .values -}}
{{- $port := include "kinesis-sidecar.adminPort" $v.config | int -}}
- name: {{ $v.sidecar.name }}
  image: "{{ $v.image.repository }}:{{ $v.image.tag }}"
  imagePullPolicy: {{ $v.image.pullPolicy }}
  # Native sidecar (Kubernetes >= 1.29): starts before the app, stops after it.
  restartPolicy: Always
  args: ["run", "-c", "/etc/kinesis-sidecar/config.yaml"]
  ports:
    - name: ks-admin
      containerPort: {{ $port }}
      protocol: TCP
  {{- if or $v.aws.region $v.sidecar.env }}
  env:
    {{- with $v.aws.region }}
    - name: AWS_REGION
      value: {{ . | quote }}
    {{- end }}
    {{- with $v.sidecar.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- with $v.sidecar.envFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  startupProbe:
    httpGet:
      path: /ready
      port: ks-admin
    {{- toYaml $v.sidecar.startupProbe | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /ready
      port: ks-admin
    {{- toYaml $v.sidecar.readinessProbe | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /ping
      port: ks-admin
    {{- toYaml $v.sidecar.livenessProbe | nindent 4 }}
  lifecycle:
    preStop:
      exec:
        command:
          - kinesis-sidecar
          - drain
          - --address
          - {{ printf "127.0.0.1:%d" $port | quote }}
          - --timeout
          - {{ $v.sidecar.drainTimeout | quote }}
  {{- with $v.sidecar.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.sidecar.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: ks-config
      mountPath: /etc/kinesis-sidecar
      readOnly: true
    - name: ks-records
      mountPath: {{ $v.recordsVolume.mountPath }}
    - name: ks-tmp
      mountPath: /tmp
    {{- with $v.sidecar.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
kinesis-sidecar.volumeMount: the records volume mount for the app container(s).
*/}}
{{- define "kinesis-sidecar.volumeMount" -}}
- name: ks-records
  mountPath: {{ .values.recordsVolume.mountPath }}
{{- end }}

{{/*
kinesis-sidecar.volumes: the pod volumes the sidecar needs (config, records, tmp).
*/}}
{{- define "kinesis-sidecar.volumes" -}}
- name: ks-config
  configMap:
    name: {{ .configMapName }}
- name: ks-records
  {{- $ed := dict }}
  {{- with .values.recordsVolume.medium }}{{ $_ := set $ed "medium" . }}{{ end }}
  {{- with .values.recordsVolume.sizeLimit }}{{ $_ := set $ed "sizeLimit" . }}{{ end }}
  emptyDir: {{ toJson $ed }}
- name: ks-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
