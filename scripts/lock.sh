#!/usr/bin/env bash
# Resolve both environments' lock files, with hashes, from their declared requirements:
#   requirements.lock      <- pyproject.toml (with the dev extra), Python 3.11, CPU torch
#   bot/requirements.lock  <- bot/requirements.txt, Python 3.10
# `make setup` installs exactly what these files pin; run this (`make lock`) after changing
# a dependency, and commit the result. tests/test_locks.py fails when they drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=.venv/bin/uv
# torch: the CPU build, or sentence-transformers would pull the CUDA build and its 3 GB.
scripts/venv_install.sh .venv "$uv" compile pyproject.toml --extra dev --generate-hashes \
  --python-platform x86_64-unknown-linux-gnu --constraint scripts/lock-constraints.txt \
  --no-header --output-file requirements.lock
scripts/venv_install.sh .venv-bot "$uv" compile bot/requirements.txt --generate-hashes \
  --python-platform x86_64-unknown-linux-gnu --no-header --output-file bot/requirements.lock
