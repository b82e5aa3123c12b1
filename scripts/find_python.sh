#!/usr/bin/env bash
# Print the path of a working Python X.Y interpreter, or explain how to get one and fail.
# Usage: scripts/find_python.sh 3.10 [OVERRIDE]
# OVERRIDE (e.g. $BOT_PYTHON) wins when given; then pythonX.Y on PATH (only if it really
# runs: pyenv shims exist even when that version is not selected); then pyenv's versions.
set -u
want="$1"
override="${2:-}"

works() {
  "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" >/dev/null 2>&1
}

if [ -n "$override" ]; then
  if works "$override"; then command -v "$override" || echo "$override"; exit 0; fi
  echo "error: '$override' is not a working Python $want" >&2
  exit 1
fi
if command -v "python$want" >/dev/null 2>&1 && works "python$want"; then
  "python$want" -c "import sys; print(sys.executable)"
  exit 0
fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
for candidate in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
  if works "$candidate/bin/python"; then echo "$candidate/bin/python"; exit 0; fi
done
cat >&2 <<MSG
error: Python $want was not found.
  Rasa 3.6 runs only on Python 3.10, the rest of the project on 3.11. Either
  - install it with pyenv:   pyenv install $want   (it is then found automatically), or
  - install your OS package (e.g. apt-get install python$want python$want-venv), or
  - point to an interpreter: make <target> BOT_PYTHON=/path/to/python3.10 (or PYTHON311=... for 3.11)
MSG
exit 1
