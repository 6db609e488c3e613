#!/usr/bin/env bash
# Installs the machine packages the build and tests use. Idempotent and quick: does nothing on a machine that has them.
#  - g++ and cmake build the kernel emulator (kernels.cu.props);
#  - libnvrtc (Debian's libnvrtc11.2, CUDA 11.8, from the non-free component) lets the tests compile every kernel with NVRTC.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() { if [ "$updated" -eq 0 ]; then apt-get update -q; updated=1; fi; }

need=()
command -v g++ >/dev/null || need+=(g++)
command -v cmake >/dev/null || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  apt-get install -y -q "${need[@]}"
fi

has_nvrtc() { ldconfig -p 2>/dev/null | grep -Eq 'libnvrtc\.so\.(13|12|11\.2)[[:space:]]'; }
if ! has_nvrtc; then
  codename=$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" )
  if [ "$( . /etc/os-release 2>/dev/null && echo "${ID:-}" )" != "debian" ] || [ -z "$codename" ]; then
    echo "install-deps: not Debian; NVRTC not installed (the NVRTC tests will be skipped)." >&2
  else
    sources=/etc/apt/sources.list.d/nonfree.sources
    if ! grep -rqs 'non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      # The same mirror as the main component, so snapshot or proxy settings carry over.
      mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
      mirror=${mirror:-http://deb.debian.org/debian}
      cat > "$sources" <<SRC
Types: deb
URIs: $mirror
Suites: $codename ${codename}-updates
Components: contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
      updated=0
    fi
    apt_update
    apt-get install -y -q --no-install-recommends libnvrtc11.2
    ldconfig
  fi
fi
