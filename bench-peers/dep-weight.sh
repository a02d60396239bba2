#!/usr/bin/env bash
# Dependency weight, side by side: for this crate and each peer client, a throwaway crate that
# depends on it alone (with the features bench-peers uses), then the number of distinct crates
# in its normal dependency tree and the wall time of a cold `cargo build --release` of it.
#
#   bash bench-peers/dep-weight.sh            # counts and cold build times
#   COUNT_ONLY=1 bash bench-peers/dep-weight.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A deps=(
  [fireworks-provider]="fireworks-provider = { path = \"$root\" }"
  [fireworks-provider-native-tls]="fireworks-provider = { path = \"$root\", default-features = false, features = [\"native-tls\"] }"
  [fireworks-provider-no-tls]="fireworks-provider = { path = \"$root\", default-features = false }"
  [async-openai]='async-openai = { version = "0.43.0", default-features = false, features = ["chat-completion", "rustls"] }'
  [genai]='genai = { version = "0.7.2", default-features = false, features = ["rustls-tls"] }'
)
printf '| crate | crates in tree | cold release build |\n|---|---|---|\n'
for name in fireworks-provider fireworks-provider-native-tls fireworks-provider-no-tls async-openai genai; do
  dir="$work/$name"
  mkdir -p "$dir/src"
  printf '[package]\nname = "weigh"\nversion = "0.0.0"\nedition = "2024"\n[workspace]\n[dependencies]\n%s\n' "${deps[$name]}" >"$dir/Cargo.toml"
  echo 'fn main() {}' >"$dir/src/main.rs"
  count=$(cd "$dir" && cargo tree -q -e normal --prefix none 2>/dev/null | sed 's/ (\*)$//' | sort -u | grep -vc '^weigh ')
  time_s="-"
  if [ -z "${COUNT_ONLY:-}" ]; then
    start=$(date +%s.%N)
    (cd "$dir" && cargo build -q --release 2>/dev/null)
    time_s=$(printf '%.1f s' "$(echo "$(date +%s.%N) - $start" | bc)")
  fi
  printf '| %s | %s | %s |\n' "$name" "$count" "$time_s"
done
