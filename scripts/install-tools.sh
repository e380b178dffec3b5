#!/usr/bin/env bash
# Install PLINK 2 and htslib's tabix/bgzip from Debian when missing. The PLINK 2 cross-check
# tests need plink2; without it they skip with a reason (CI always installs it).
set -eu
missing=()
command -v plink2 >/dev/null 2>&1 || missing+=(plink2)
command -v tabix  >/dev/null 2>&1 || missing+=(tabix)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "install-tools: cannot install ${missing[*]} (not root, no sudo); their tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
