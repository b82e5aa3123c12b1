#!/usr/bin/env bash
# Install Debian's chromium for the browser tests when it is missing (Playwright's own
# browser download cannot work offline; the tests use /usr/bin/chromium), and a Chinese
# font: without one the pages' Chinese shows as empty boxes of another width, so the
# screenshots cannot be read and the layout tests measure text no user sees.
set -eu
missing=""
if [ ! -x /usr/bin/chromium ]; then missing="chromium"; fi
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing="$missing fonts-wqy-microhei"; fi
if [ -z "$missing" ]; then exit 0; fi
# shellcheck disable=SC2086  # one word per package
exec "$(dirname "$0")/apt_install.sh" "the browser tests" $missing
