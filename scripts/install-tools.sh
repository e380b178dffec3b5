#!/usr/bin/env bash
# Install the tools the cross-check tests drive, from Debian, when missing: PLINK 2 and
# htslib's tabix/bgzip (tests against PLINK 2), Chromium and its WebDriver (the HTML report's
# browser test, tests/test_html_report_browser.py, driven by Selenium). Without them those
# tests skip with a reason (CI always installs them).
set -eu
missing=()
command -v plink2 >/dev/null 2>&1 || missing+=(plink2)
command -v tabix  >/dev/null 2>&1 || missing+=(tabix)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "install-tools: cannot install ${missing[*]} (not root, no sudo); their tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
