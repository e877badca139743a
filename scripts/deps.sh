#!/usr/bin/env bash
# Install the Debian/Ubuntu packages Rempart needs to build, run and test.
# Idempotent: asks apt only for what is missing. Usage: scripts/deps.sh [build|test|bench]
set -euo pipefail

profile=${1:-build}

build_pkgs=(
  cmake make gcc clang llvm pkg-config bpftool
  libbpf-dev libelf-dev zlib1g-dev libhyperscan-dev libjson-c-dev
  libnghttp2-dev libsystemd-dev libssl-dev libcurl4-openssl-dev
  check libsubunit-dev libbrotli-dev libzstd-dev
)
# Real clients, servers and tools the integration tests drive.
test_pkgs=(
  openssl curl wget gnutls-bin python3 nodejs iproute2 procps
  nghttp2-server nghttp2-client libnss3-tools firefox-esr
  xvfb dbus dbus-x11 dunst libnotify-bin libclang-rt-14-dev debhelper
  python3-jsonschema python3-reportlab libreoffice-writer-nogui
  golang-go
)
bench_pkgs=(libpcre2-dev)
# Chromium prints the PDFs that "Save as PDF" makes (fonts with their own codes). Debian packages it;
# Ubuntu's "chromium" is a snap wrapper that does not run in a test, and the test does without it.
if [[ -r /etc/os-release ]] && grep -qx 'ID=debian' /etc/os-release; then
  test_pkgs+=(chromium)
fi

pkgs=("${build_pkgs[@]}")
case "$profile" in
  build) ;;
  test)  pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "deps.sh: unknown profile '$profile' (build|test|bench)" >&2; exit 2 ;;
esac
# PCRE2 is linked by the benchmark only, but is tiny: always have it so one build tree serves all.
pkgs+=("${bench_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (sudo make ...) to install them" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
