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
# independent radio peers for the interop tests: GNU Radio's osmosdr source (rtl_tcp client), librtlsdr's
# tools, libiio's clients (iio_info/iio_attr/iio_readdev against the iiod server), inspectrum; no GUI extras
radio_packages=(gnuradio gr-osmosdr rtl-sdr libiio-utils inspectrum binutils libliquid-dev)

install_missing() {  # install_missing [apt options...] -- packages...
  local opts=() missing=() p
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing system packages (${missing[*]}) and no apt-get; install them by hand" >&2
    exit 1
  fi
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  [ -n "${apt_updated:-}" ] || { $sudo_cmd apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${opts[@]}" "${missing[@]}"
}
install_missing -- "${debian_packages[@]}"
install_missing --no-install-recommends -- "${radio_packages[@]}"

if [ "${DEKAG_WITH_ELECTRON:-0}" != "1" ]; then
  export ELECTRON_SKIP_BINARY_DOWNLOAD=1
fi
npm ci --no-audit --no-fund
