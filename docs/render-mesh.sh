#!/usr/bin/env bash
# Renders the Mermaid diagram of MESH.md to docs/mesh.png for the README,
# with the mermaid npm package and headless Chromium (Debian's chromium).
#   bash docs/render-mesh.sh
set -euo pipefail
cd "$(dirname "$0")/.."
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
(cd "$W" && npm init -y >/dev/null && npm install --silent mermaid@11.12.1 >/dev/null)
diagram=$(awk '/^```mermaid/{f=1;next} /^```/{f=0} f' MESH.md)
{
  echo '<!doctype html><html><body style="margin:0;background:#fff">'
  echo '<pre class="mermaid">'
  printf '%s\n' "$diagram" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'
  echo '</pre><script>'
  cat "$W/node_modules/mermaid/dist/mermaid.min.js"
  echo 'mermaid.initialize({startOnLoad:true,theme:"default"});</script></body></html>'
} >"$W/page.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$W/profile" --hide-scrollbars --window-size=1000,375 \
  --virtual-time-budget=5000 --screenshot="$PWD/docs/mesh.png" "file://$W/page.html" 2>/dev/null
echo "wrote docs/mesh.png"
