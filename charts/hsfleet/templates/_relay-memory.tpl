{{/*
Relay memory bounds sized to the pod's memory limit (docs/deploy.md, "Relay
memory sizing").

hsfleet.bytes parses a memory quantity into bytes: a whole number with an
optional suffix Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of
1000; Kubernetes has no "K"), or a plain number of bytes. The values schema
already refuses what Kubernetes would; what it lets through that this cannot
size (fractions such as 1.5Gi, millibytes "m", P, Pi, E, Ei) fails the render. Takes (dict "q" VALUE "what" "values.path").
*/}}
{{- define "hsfleet.bytes" -}}
{{- $q := .q -}}
{{- $bad := printf "%s=%v: not a memory quantity this chart can size from; use a whole number with an optional suffix Ki, Mi, Gi, Ti, k, M, G or T (e.g. 512Mi, 1Gi, 1000M, 1073741824)" .what $q -}}
{{- if or (kindIs "float64" $q) (kindIs "int64" $q) (kindIs "int" $q) -}}
{{- if or (lt (float64 $q) 0.0) (ne (float64 $q) (floor $q)) (gt (float64 $q) 9.0e18) -}}
{{- fail $bad -}}
{{- end -}}
{{- int64 $q -}}
{{- else if and (kindIs "string" $q) (regexMatch "^[0-9]{1,15}(Ki|Mi|Gi|Ti|k|M|G|T)?$" $q) -}}
{{- $digits := regexFind "^[0-9]+" $q -}}
{{- $mult := get (dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000) (trimPrefix $digits $q) -}}
{{- $n := atoi $digits -}}
{{- if gt (int64 $n) (div 9000000000000000000 $mult) -}}
{{- fail $bad -}}
{{- end -}}
{{- mul $n $mult -}}
{{- else -}}
{{- fail $bad -}}
{{- end -}}
{{- end }}

{{/*
hsfleet.relayQueueBytes is the relay's --queue-bytes, or "" for the relay's
default (4 MiB) when no memory limit is set.

  budget     = relay.queueMemoryPercent % of relay.resources.limits.memory
               - relay.cluster.pendingBytes (with 2 or more replicas)
  queueBytes = min(budget / relay.maxConnections, 4 MiB)

and the render fails when that is below the floor, twice the relay's 64 KiB
longest line: a client queue that cannot hold two lines disconnects healthy
readers. An explicit relay.queueBytes replaces the derived value and must be
at least the floor and fit the budget (queueBytes × maxConnections).
*/}}
{{- define "hsfleet.relayQueueBytes.floor" -}}131072{{- end }}

{{- define "hsfleet.relayQueueBytes" -}}
{{- $r := .Values.relay -}}
{{- $floor := include "hsfleet.relayQueueBytes.floor" . | int64 -}}
{{- $max := 4194304 -}}
{{- $conns := int64 $r.maxConnections -}}
{{- $override := int64 (default 0 $r.queueBytes) -}}
{{- $limit := dig "limits" "memory" "" ($r.resources | default dict) -}}
{{- if and $override (lt $override $floor) -}}
{{- fail (printf "relay.queueBytes=%d is below %d bytes (twice the relay's 64 KiB longest line): raise relay.queueBytes" $override $floor) -}}
{{- end -}}
{{- if eq (toString $limit) "" -}}
{{- if eq $conns 0 -}}
{{- fail "relay.maxConnections must be set (above 0) when relay.resources.limits.memory is unset: nothing else bounds the relay's per-client queues (docs/deploy.md, relay memory sizing)" -}}
{{- end -}}
{{- if $override }}{{ $override }}{{ end -}}
{{- else -}}
{{- if eq $conns 0 -}}
{{- fail "relay.maxConnections=0 (no limit) cannot be sized to relay.resources.limits.memory: set relay.maxConnections (docs/deploy.md, relay memory sizing)" -}}
{{- end -}}
{{- $limitBytes := include "hsfleet.bytes" (dict "q" $limit "what" "relay.resources.limits.memory") | int64 -}}
{{- $budget := div (mul $limitBytes (int64 $r.queueMemoryPercent)) 100 -}}
{{- $pending := "" -}}
{{- if ge (int $r.replicas) 2 -}}
{{- $budget = sub $budget (int64 $r.cluster.pendingBytes) -}}
{{- $pending = printf " minus relay.cluster.pendingBytes %d" (int64 $r.cluster.pendingBytes) -}}
{{- end -}}
{{- $why := printf "relay.resources.limits.memory=%v leaves %d bytes for client queues (relay.queueMemoryPercent %d%%%s)" $limit $budget (int64 $r.queueMemoryPercent) $pending -}}
{{- if $override -}}
{{- if gt (mul $override $conns) $budget -}}
{{- fail (printf "%s: relay.queueBytes=%d × relay.maxConnections=%d does not fit; raise relay.resources.limits.memory or lower relay.maxConnections or relay.queueBytes" $why $override $conns) -}}
{{- end -}}
{{- $override -}}
{{- else -}}
{{- $per := div (max $budget 0) $conns -}}
{{- if lt $per $floor -}}
{{- fail (printf "%s: %d bytes for each of relay.maxConnections=%d clients is below %d (twice the relay's 64 KiB longest line); raise relay.resources.limits.memory or lower relay.maxConnections" $why $per $conns $floor) -}}
{{- end -}}
{{- min $per $max -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
hsfleet.relayGoMemLimit is the relay's GOMEMLIMIT in bytes: 90% of the memory
limit, so the garbage collector works harder before the OOM killer acts; the
rest covers what the Go runtime does not count (kernel socket buffers, which
the cgroup charges). "" when no limit is set.
*/}}
{{- define "hsfleet.relayGoMemLimit" -}}
{{- $limit := dig "limits" "memory" "" (.Values.relay.resources | default dict) -}}
{{- if ne (toString $limit) "" -}}
{{- div (mul (include "hsfleet.bytes" (dict "q" $limit "what" "relay.resources.limits.memory") | int64) 9) 10 -}}
{{- end -}}
{{- end }}
