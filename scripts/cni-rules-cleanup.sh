#!/usr/bin/env bash
# Removes the CNI plugins' iptables NAT rules (bridge ipMasq, portmap) of the given sandbox
# ids, for sandboxes torn down without a CNI DEL (killed nodes, failed tests): left alone
# they pile up and slow every later iptables call. Rules carry `id: "<sandbox id>"`.
#   scripts/cni-rules-cleanup.sh SANDBOX_ID...
set -u
[ $# -gt 0 ] && command -v iptables >/dev/null 2>&1 || exit 0
rules=$(iptables -w -t nat -S 2>/dev/null | grep -F -f <(printf 'id: \\"%s\\"\n' "$@"))
chains=$(grep -o -- '-j CNI-[A-Za-z0-9-]*' <<<"$rules" | awk '{print $2}' | grep -v '^CNI-HOSTPORT-' | sort -u)
while IFS= read -r rule; do
  # `iptables -S` quotes like a shell does, so the rule can be replayed with -D.
  [ -n "$rule" ] && eval "iptables -w -t nat -D ${rule#-A }" 2>/dev/null
done <<<"$rules"
for chain in $chains; do
  iptables -w -t nat -F "$chain" 2>/dev/null && iptables -w -t nat -X "$chain" 2>/dev/null
done
exit 0
