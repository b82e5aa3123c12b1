#!/usr/bin/env bash
# Install Debian's nginx (the reverse proxy of `make run-scaled`) when it is missing.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
exec "$(dirname "$0")/apt_install.sh" "the scaled topology" nginx-light
