#!/usr/bin/env bash
# Headless Chromium for the report and UI tests (Debian's package). Installed once if missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "Chromium is missing and this is not root: install Debian's 'chromium' package to run the browser tests" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
