#!/usr/bin/env bash
# Optional (`make mesa-backports`): on Debian 12 (bookworm), replace Mesa 22.3 by the Mesa 25 of
# bookworm-backports. Its llvmpipe runs bench-sim about 12 % faster on a 2-core CPU machine, and renders
# bit-identical images (every sensor and ground-truth image of clear, night, fog and night_fog
# compared by hash), so recorded results stay comparable. Other systems: nothing to do here;
# Ubuntu 24.04 and Debian 13 already ship Mesa 24 or newer.
set -euo pipefail
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != "debian" ] || [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
  echo "mesa-backports: this is ${PRETTY_NAME:-an unknown system}, not Debian 12 (bookworm); nothing to do." >&2
  echo "mesa-backports: for a faster llvmpipe, install your distribution's newest Mesa (24 or later)." >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "error: mesa-backports needs root (or sudo) to add bookworm-backports and install Mesa" >&2; exit 1
fi
list=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "adding $list (backports are only installed when asked for by name, as below)"
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$list" >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports \
  libgl1-mesa-dri libegl-mesa0 mesa-libgallium libgbm1 >/dev/null
echo "installed Mesa $(dpkg-query -W -f='${Version}' libgl1-mesa-dri); to go back: apt-get install --allow-downgrades -t bookworm libgl1-mesa-dri libegl-mesa0 libgbm1 && apt-get remove mesa-libgallium"
