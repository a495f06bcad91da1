#!/usr/bin/env bash
# Installs what screenrelay needs on Debian (12+): Python with Tk, Node.js and
# npm (to build the browser join page), then the Python environment in .venv
# and the page. With --for-tests, also the tests' virtual display, input
# tools and browser (and x11vnc, the baseline of benchmarks/vnc_compare.py).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv python3-tk)
if [ "${1:-}" = "--for-tests" ]; then
  APT_PACKAGES+=(xvfb xdotool x11-utils imagemagick chromium x11vnc)
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Node.js and npm build the browser client; a machine may have its own newer Node.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The Python packages, reinstalled only when pyproject.toml changed (the
# stamp holds the copy last installed from).
# (Some machines' pip configuration names find-links folders that do not
# exist; pip warns about each on every run. Those lines are dropped.)
if ! cmp -s pyproject.toml .venv/.screenrelay-pyproject; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
  cp pyproject.toml .venv/.screenrelay-pyproject
fi

# The browser client (viewer_app/web): npm packages from the lockfile, then one
# bundle the relay serves. Reinstalled only when the lockfile changed.
(
  cd viewer_app/web
  if ! cmp -s package-lock.json node_modules/.screenrelay-lock; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.screenrelay-lock
  fi
  npm run --silent build >/dev/null
)
