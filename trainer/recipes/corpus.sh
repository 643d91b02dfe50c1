#!/usr/bin/env bash
# Build HRM-Code's multi-language source corpus from package registries only.
#   usage: trainer/recipes/corpus.sh OUT_DIR [MAX_MB_PER_SOURCE]
# Installs Debian source packages (Go, Java, Rust sources; Boost headers), downloads PyPI
# sdists and npm tarballs, then gathers the source files into OUT_DIR and prints a size
# report per language (also written to OUT_DIR/corpus_report.json).
set -euo pipefail
OUT=${1:?usage: corpus.sh OUT_DIR [MAX_MB_PER_SOURCE]}
CAP=${2:-40}
HERE=$(cd "$(dirname "$0")" && pwd)
DL="$OUT/.downloads"
mkdir -p "$DL/pypi" "$DL/npm"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
  golang-1.19-src openjdk-17-source rust-src libboost-dev unzip

# PyPI sdists: pure Python plus a few C/C++ extensions (C sources for the corpus).
while read -r pkg; do
  [ -z "$pkg" ] && continue
  python3 -m pip download -q --no-binary :all: --no-deps -d "$DL/pypi" "$pkg" \
    || echo "skip pypi $pkg (download failed)" >&2
done < "$HERE/pypi_packages.txt"

# npm tarballs (JavaScript and TypeScript sources).
while read -r pkg; do
  [ -z "$pkg" ] && continue
  (cd "$DL/npm" && npm pack --silent "$pkg" >/dev/null) || echo "skip npm $pkg (pack failed)" >&2
done < "$HERE/npm_packages.txt"

python3 -m trainer.recipes.corpus gather --out "$OUT" --downloads "$DL" --max-mb-per-source "$CAP"
