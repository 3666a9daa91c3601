#!/usr/bin/env bash
# Unpack Debian's Prometheus, Alertmanager and kubectl (promtool, amtool, alertmanager, kustomize) into $1 for the
# tests, without installing them system-wide (installing would start daemons on :9090/:9093).
# On a machine without apt, say so: tests then skip locally and fail in CI (CI=true).
set -euo pipefail
dest="$(mkdir -p "$1" && cd "$1" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! command -v apt-get >/dev/null; then
  echo "fetch-tools: no apt-get here; Prometheus/Alertmanager tests will not run" >&2
  exit 0
fi
cd "$work"
packages=(prometheus prometheus-alertmanager kubernetes-client)
apt-get download "${packages[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download "${packages[@]}" >/dev/null; }

for deb in ./*.deb; do dpkg-deb -x "$deb" "$dest"; done
# Debian builds Alertmanager to read its notification templates (default.tmpl, email.tmpl) from
# this absolute directory (upstream embeds them); without them its config fails to load. Put
# just those files there, if we may and they are missing.
tmpl_dir=/usr/share/prometheus/alertmanager
for tmpl in "$dest$tmpl_dir"/*.tmpl; do
  target="$tmpl_dir/$(basename "$tmpl")"
  [ -e "$target" ] && continue
  if mkdir -p "$tmpl_dir" 2>/dev/null && cp "$tmpl" "$target" 2>/dev/null; then
    echo "fetch-tools: installed Alertmanager's template $target"
  else
    echo "fetch-tools: cannot write $target; the real-Alertmanager test will fail" >&2
  fi
done
touch "$dest/.stamp"
echo "fetch-tools: $(ls "$dest/usr/bin" | tr '\n' ' ')"
