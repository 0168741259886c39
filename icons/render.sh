#!/usr/bin/env bash
# Renders the PNG sizes desktops look up (hicolor theme) from safe-rebuild.svg.
# Needs rsvg-convert (Debian: librsvg2-bin). The PNGs are committed; run this after editing the SVG.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p hicolor/scalable/apps
cp safe-rebuild.svg hicolor/scalable/apps/safe-rebuild.svg
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "hicolor/${size}x${size}/apps"
  rsvg-convert -w "$size" -h "$size" safe-rebuild.svg -o "hicolor/${size}x${size}/apps/safe-rebuild.png"
done
