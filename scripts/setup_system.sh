#!/usr/bin/env bash
# Installs the Debian packages headless rendering needs (EGL + Mesa's llvmpipe) when they are missing.
set -euo pipefail
need=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing system packages for headless OpenGL: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "error: missing ${need[*]} and not root; install them with: sudo apt-get install ${need[*]}" >&2; exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "error: missing ${need[*]}; this is not a Debian/Ubuntu system, install the EGL + Mesa DRI packages of your distribution" >&2
  exit 1
fi
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
