#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright drives it; never `playwright install`),
# with emoji and CJK fonts so screenshots show what a learner's browser shows.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "Chromium is missing: run 'sudo apt-get install -y chromium fonts-noto-color-emoji fonts-noto-cjk' (the browser tests need them)." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji fonts-noto-cjk >/dev/null
chromium --version
