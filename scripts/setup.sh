#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine (and in CI): system packages for the Python
# trainers and the browser tests, then the npm packages (which also builds the TypeScript).
#
# Electron's binary is not needed by the engine, the CLI or browser mode; it is skipped unless
# DEKAG_WITH_ELECTRON=1 (then `npm start` opens the desktop app).
set -euo pipefail
cd "$(dirname "$0")/.."

# libopenblas0-pthread: without it Debian's torch falls back to the reference BLAS, ~20x slower matmuls
debian_packages=(python3 python3-torch libopenblas0-pthread python3-onnx python3-numpy python3-pytest python3-pil chromium socat)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
  else
    echo "setup: missing system packages (${missing[*]}) and no apt-get; install them by hand" >&2
    exit 1
  fi
fi

if [ "${DEKAG_WITH_ELECTRON:-0}" != "1" ]; then
  export ELECTRON_SKIP_BINARY_DOWNLOAD=1
fi
npm ci --no-audit --no-fund
