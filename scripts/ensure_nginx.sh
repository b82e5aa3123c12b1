#!/usr/bin/env bash
# Install Debian's nginx (the reverse proxy of `make run-scaled`) when it is missing.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: nginx is missing and apt-get is not available; install nginx" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != "0" ]; then sudo="sudo"; fi
echo "installing Debian's nginx for the scaled topology …"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q nginx-light
