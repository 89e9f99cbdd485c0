#!/usr/bin/env bash
# Sets up formcheck (scripts/setup.sh) and runs the whole test suite in release mode (the pose
# tests run the models over thousands of real frames). Tests that need the real clips read them
# from $FORMCHECK_CLIPS_DIR, by default ../shared/clips beside the project; set
# FORMCHECK_REQUIRE_CLIPS=1 to make their absence a failure instead of a skip.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -z "${FORMCHECK_SAMPLES_DIR:-}" ] && [ -d ../shared/clips ]; then
  export FORMCHECK_SAMPLES_DIR="$root/../shared/clips"
fi
bash scripts/setup.sh
# The HTML report and the server's page are checked in headless Chromium (Debian's packages;
# chromedriver drives the page).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test: installing chromium and chromium-driver for the browser checks" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 chromium chromium-driver >/dev/null
fi
cargo test --release -- --show-output "$@"
