#!/usr/bin/env bash
# Sets up formcheck on a fresh Debian/Ubuntu machine, then builds it:
#  1. Debian packages: OpenCV (core, imgproc, imgcodecs, videoio), clang for the opencv crate, ffmpeg.
#  2. ONNX Runtime 1.31.1: the shared library from PyPI's onnxruntime wheel, into .ort/ (git-ignored).
#  3. samples/: the clips in samples/MANIFEST.tsv, from $FORMCHECK_SAMPLES_DIR when set, otherwise
#     downloaded from their public addresses; every file's sha256 is checked.
#  4. cargo build --release.
# Each step is skipped when already done, so running it again is quick.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }

# --- 1. system packages -------------------------------------------------------------------------
pkgs=(clang libclang-dev pkg-config libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
      libopencv-videoio-dev ffmpeg curl ca-certificates python3 python3-pip unzip)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install Rust (https://rustup.rs), then run this again"; exit 1
fi

# --- 2. ONNX Runtime ------------------------------------------------------------------------------
ort_version=1.31.1
if [ ! -f ".ort/libonnxruntime.so.$ort_version" ]; then
  say "fetching ONNX Runtime $ort_version (PyPI wheel)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 "onnxruntime==$ort_version" -d "$tmp"
  mkdir -p .ort
  python3 - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + '/onnxruntime-*.whl')[0]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = name.rsplit('/', 1)[-1]
        if name.startswith('onnxruntime/capi/libonnxruntime'):
            with open('.ort/' + base + '.part', 'wb') as f:
                f.write(z.read(name))
PY
  for f in .ort/*.part; do mv "$f" "${f%.part}"; done
  ln -sf "libonnxruntime.so.$ort_version" .ort/libonnxruntime.so
fi

# --- 3. sample clips ------------------------------------------------------------------------------
fetch_sample() {  # file sha256 url
  local file="$1" sum="$2" url="$3" dest="samples/$1"
  if [ -f "$dest" ] && echo "$sum  $dest" | sha256sum -c --status; then return 0; fi
  if [ -n "${FORMCHECK_SAMPLES_DIR:-}" ] && [ -f "$FORMCHECK_SAMPLES_DIR/$file" ]; then
    cp "$FORMCHECK_SAMPLES_DIR/$file" "$dest.part"
  else
    say "downloading $file"
    curl -fsSL --retry 3 -o "$dest.part" "$url" || { rm -f "$dest.part"; say "cannot download $url"; return 1; }
  fi
  if ! echo "$sum  $dest.part" | sha256sum -c --status; then
    rm -f "$dest.part"; say "$file: sha256 mismatch, not kept"; return 1
  fi
  mv "$dest.part" "$dest"
}
failed=0
while IFS=$'\t' read -r file sum url _; do
  [ "$file" = "file" ] || [ -z "$file" ] && continue
  fetch_sample "$file" "$sum" "$url" || failed=1
done < samples/MANIFEST.tsv
[ "$failed" -eq 0 ] || say "some sample clips are missing (see above); formcheck itself is unaffected"

# --- 4. build ---------------------------------------------------------------------------------------
say "building (cargo build --release)"
cargo build --release -q
say "ready: target/release/formcheck"
