#!/usr/bin/env bash
# Install Debian's chromium for the browser tests when it is missing (Playwright's own
# browser download cannot work offline; the tests use /usr/bin/chromium).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
exec "$(dirname "$0")/apt_install.sh" "the browser tests" chromium
