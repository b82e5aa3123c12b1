#!/usr/bin/env bash
# Install Debian packages with apt-get (through sudo when not root), or explain and fail.
# Usage: scripts/apt_install.sh WHAT-IT-IS-FOR PACKAGE...
set -eu
what="$1"
shift
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: $* missing and apt-get is not available; install it for $what" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
echo "installing Debian's $* for $what …"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@"
