#!/usr/bin/env bash
# Install packages into a virtual environment with uv, which keeps every wheel it has unpacked
# in its cache (~/.cache/uv) and links them into new environments: a fresh clone sets up both
# environments in seconds instead of the minutes pip takes to unpack TensorFlow and torch.
# uv does not read pip's configuration; the find-links, extra indexes and constraints this
# machine gives pip (PIP_* variables or pip.conf) are passed on, so both install the same.
# Usage: scripts/venv_install.sh VENV UV install|compile <uv pip arguments>
# (compile resolves a lock file with the same indexes: scripts/lock.sh)
set -euo pipefail
venv="$1"
uv="$2"
command="$3"
shift 3
case "$command" in
  install) extra=(--compile-bytecode) ;;
  compile) extra=() ;;
  *) echo "venv_install.sh: unknown command '$command' (install or compile)" >&2; exit 2 ;;
esac

flags=()
config="$("$venv/bin/python" -m pip config list 2>/dev/null || true)"
value() {  # the last setting of KEY (global.KEY or :env:.KEY) in pip's configuration
  printf '%s\n' "$config" | sed -n -E "s/^(global|:env:)\.$1='(.*)'$/\2/p" | tail -n 1
}
for link in $(value find-links); do flags+=(--find-links "$link"); done
for index in $(value extra-index-url); do
  # An index folder that is not there on this machine is skipped, as pip does with a warning.
  if [[ "$index" == file://* && ! -d "${index#file://}" ]]; then continue; fi
  flags+=(--extra-index-url "$index")
done
index_url="$(value index-url)"
if [ -n "$index_url" ]; then flags+=(--index-url "$index_url"); fi
constraint="$(value constraint)"
cert="$(value cert)"
if [ -n "$cert" ] && [ -f "$cert" ]; then export SSL_CERT_FILE="${SSL_CERT_FILE:-$cert}"; fi
# A lock file pins every version already (and --require-hashes refuses ranges), so pip's
# constraints apply when resolving one.
if [ "$command" = compile ] && [ -n "$constraint" ] && [ -f "$constraint" ]; then
  flags+=(--constraint "$constraint")
fi

# pip picks the best version across all its indexes; uv by default stops at the first index
# that has a package at all.
flags+=(--index-strategy unsafe-best-match)

# Bytecode is compiled at install, as pip does: uv leaves it to the first import by default,
# and where PYTHONDONTWRITEBYTECODE is set (as on these machines) no import ever writes it,
# so every process (each Rasa server, each portal worker a test starts) would compile TensorFlow
# and the rest from source again.
exec "$uv" pip "$command" --quiet "${extra[@]}" --python "$venv/bin/python" "${flags[@]}" "$@"
