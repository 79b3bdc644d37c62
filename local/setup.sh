#!/usr/bin/env bash
# Installs what the local stack and the tests need, and nothing twice:
#   npm packages       -> node_modules/ (npm ci when package-lock.json changed)
#   Kafka broker jars  -> $WITNESSLOG_CACHE/kafka-<version>/libs (Maven Central, via mvn)
#   Python + qdrant    -> $WITNESSLOG_CACHE/venv-<hash of requirements.txt> (PyPI, via pip)
#   Python SDK deps    -> $WITNESSLOG_CACHE/venv-sdk-<hash of producer/python/pyproject.toml> (PyPI, via pip)
#   Python SDK itself  -> .run/python-sdk (this clone's build of producer/python, on PYTHONPATH)
#   Prometheus, docker-compose -> Debian's packages (prometheus ships promtool), via apt-get
#   chromium           -> Debian's package, where the real Qdrant server is present (console test)
# Then writes .run/toolchain.json, which local/services.ts reads to find them.
# The cache lives outside the clone so a second clone reuses the downloads.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${WITNESSLOG_CACHE:-$HOME/.cache/witnesslog}"
mkdir -p "$cache" "$root/.run"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }
hash_of() { sha256sum "$@" | sha256sum | cut -c1-12; }
# Terminal escape codes out of a tool's output, for tools that print them with no
# flag to stop them: Maven 3.8 writes colour resets (ESC[0m) even with -B, -q,
# -Dstyle.color=never and its output in a file, and npm start's output is often one.
strip_escapes() { sed -u 's|\x1b\[[0-9;?]*[ -/]*[@-~]||g'; }

need node "install Node.js 20 or newer"
need npm "install npm (it ships with Node.js)"
need java "install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless); Kafka runs on it"
need mvn "install Maven (Debian: apt-get install maven); it fetches the Kafka jars from Maven Central"
need python3 "install Python 3.11+ (Debian: apt-get install python3 python3-venv); the local Qdrant server runs on it"

# --- npm -------------------------------------------------------------------
lock_hash="$(hash_of "$root/package-lock.json" "$root/package.json" "$root"/*/package.json)"
if [ "$(cat "$root/node_modules/.witnesslog-lock" 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error --color=false)
  echo "$lock_hash" > "$root/node_modules/.witnesslog-lock"
fi

# --- Kafka -----------------------------------------------------------------
pom="$root/local/kafka/pom.xml"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
kafka_libs="$cache/kafka-$kafka_version-$(hash_of "$pom")/libs"
if [ ! -f "$kafka_libs/.complete" ]; then
  say "fetching Apache Kafka $kafka_version jars from Maven Central"
  rm -rf "$kafka_libs"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$kafka_libs" 2>&1 \
    | strip_escapes >&2 || die "mvn could not fetch the Kafka jars (is Maven Central reachable?)"
  touch "$kafka_libs/.complete"
fi

# --- Python venv for the Qdrant-compatible server ----------------------------
reqs="$root/local/qdrant/requirements.txt"
venv="$cache/venv-$(hash_of "$reqs")"
if [ ! -f "$venv/.complete" ]; then
  say "creating the Python virtualenv for the local Qdrant server"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --no-color --disable-pip-version-check -r "$reqs" \
    || die "pip could not install $reqs (is PyPI reachable?)"
  touch "$venv/.complete"
fi

# --- Python SDK (producer/python): its dependencies in a shared venv, the package per clone.
# The venv holds no copy of the SDK (clones share it); each clone installs its own build
# (wheel contents, the packaged .avsc included) into .run/python-sdk, rebuilt when a source changes.
sdk_dir="$root/producer/python"
sdk_venv="$cache/venv-sdk-$(hash_of "$sdk_dir/pyproject.toml")"
if [ ! -f "$sdk_venv/.complete" ]; then
  say "creating the Python virtualenv for the Python SDK's dependencies and tests"
  rm -rf "$sdk_venv"
  python3 -m venv "$sdk_venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$sdk_venv/bin/pip" install --quiet --no-color --disable-pip-version-check "$sdk_dir[test]" \
    || die "pip could not install producer/python's dependencies (is PyPI reachable?)"
  "$sdk_venv/bin/pip" uninstall --quiet --yes witnesslog
  touch "$sdk_venv/.complete"
fi
sdk_site="$root/.run/python-sdk"
sdk_hash="$(hash_of "$sdk_dir/pyproject.toml" "$sdk_dir"/src/witnesslog/*.py "$root"/schemas/witness-*.avsc "$root/schemas/validation.json")-$(basename "$sdk_venv")"
if [ "$(cat "$sdk_site/.witnesslog-sdk" 2>/dev/null)" != "$sdk_hash" ]; then
  say "building the Python SDK into .run/python-sdk"
  rm -rf "$sdk_site" "$sdk_dir/build"
  "$sdk_venv/bin/pip" install --quiet --no-color --disable-pip-version-check --no-deps --no-build-isolation --target "$sdk_site" "$sdk_dir" \
    || die "pip could not build producer/python"
  echo "$sdk_hash" > "$sdk_site/.witnesslog-sdk"
fi

# --- Debian packages: Prometheus (with promtool), Alertmanager (with amtool: the alerts
# are routed for real in the tests) and docker-compose (to validate docker-compose.yml)
pkgs=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1 || pkgs+=(prometheus-alertmanager)
command -v docker-compose >/dev/null 2>&1 || pkgs+=(docker-compose)
# Debian's chromium drives the real Qdrant server's web console in test/console-browser.test.ts;
# only where that server is (QDRANT_BIN or ../shared/qdrant/qdrant, see local/qdrant-engine.ts).
if [ -n "${QDRANT_BIN:-}" ] || [ -x "$root/../shared/qdrant/qdrant" ]; then
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${pkgs[*]}; installing needs root: run 'sudo apt-get install ${pkgs[*]}' once"
  need apt-get "install ${pkgs[*]} by hand"
  say "installing Debian packages: ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # Prometheus' own service must not grab port 9090: a policy-rc.d that exits 101
  # tells the maintainer scripts not to start services.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
  fi
  status=0
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null || status=$?
  [ $created_policy = 0 ] || rm -f "$policy"
  [ $status = 0 ] || die "apt-get install ${pkgs[*]} failed"
fi

cat > "$root/.run/toolchain.json" <<JSON
{
  "kafkaVersion": "$kafka_version",
  "kafkaLibs": "$kafka_libs",
  "java": "$(command -v java)",
  "python": "$venv/bin/python",
  "sdkPython": "$sdk_venv/bin/python",
  "sdkPythonPath": "$sdk_site",
  "prometheus": "$(command -v prometheus)",
  "promtool": "$(command -v promtool)",
  "alertmanager": "$(command -v prometheus-alertmanager)",
  "amtool": "$(command -v amtool)",
  "dockerCompose": "$(command -v docker-compose)"
}
JSON
