#!/usr/bin/env bash
# Creates the secrets of the docker-compose.yml stack, once, before its first start:
#
#   scripts/secrets.sh [dir]      (dir: where .env and secrets/ go; default the repo root)
#
# - .env (mode 600; compose reads it): one strong random value per secret variable
#   docker-compose.yml requires. A variable already in .env or in the environment is
#   kept (bring your own): the script only adds what is missing, and names (never
#   prints) what it added.
# - secrets/ (mode 700): a CA (ca.key, ca.pem), the broker's key pair signed by it
#   for KAFKA_EXTERNAL_HOST (kafka.p12, the PKCS12 keystore; its password is
#   KAFKA_KEYSTORE_PASSWORD), and web.yml, the bcrypt basic-auth user of Prometheus
#   and Alertmanager. A file that exists is kept: delete it to make a new one.
#
# The files the containers read (kafka.p12, web.yml, monitoring_password) are 644 so
# their non-root users can read them through the bind mount; the 700 directory keeps
# everyone else on this host out. ca.key never leaves this directory.
# Needs openssl and python3 (for bcrypt, through libxcrypt's crypt()).
set -euo pipefail
umask 077

root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
env_file="$root/.env"
dir="$root/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
touch "$env_file"
chmod 600 "$env_file"

# 32 random bytes, URL-safe: no quoting trouble in .env, JAAS strings or URLs.
random() { openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n'; }

# The value of $1: the environment's, else .env's, else a new one appended to .env.
added=()
secret() {
  local name="$1" value
  value="${!name:-}"
  if [ -z "$value" ]; then value="$(sed -n "s/^$name=//p" "$env_file" | tail -n 1)"; fi
  if [ -z "$value" ]; then
    value="$(random)"
    printf '%s=%s\n' "$name" "$value" >>"$env_file"
    added+=("$name")
  fi
  printf -v "$name" '%s' "$value"
}

for name in KAFKA_BROKER_PASSWORD KAFKA_ADMIN_PASSWORD KAFKA_PRODUCER_PASSWORD KAFKA_CONSUMER_PASSWORD \
  KAFKA_KEYSTORE_PASSWORD QDRANT_API_KEY QDRANT_READ_ONLY_API_KEY MONITORING_PASSWORD GRAFANA_ADMIN_PASSWORD; do
  secret "$name"
done

host="${KAFKA_EXTERNAL_HOST:-localhost}"
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=witnesslog CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  added+=("secrets/ca.pem (give it to the serving nodes: WITNESS_KAFKA_SSL_CA_FILE)")
fi
if [ ! -f "$dir/kafka.p12" ]; then
  # An IP address goes in the certificate as IP:, a name as DNS:.
  if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then san="IP:$host"; else san="DNS:$host"; fi
  openssl req -newkey rsa:3072 -nodes -subj "/CN=$host" -keyout "$dir/kafka.key" -out "$dir/kafka.csr" 2>/dev/null
  printf 'subjectAltName=%s,DNS:kafka,DNS:localhost,IP:127.0.0.1\n' "$san" >"$dir/kafka.ext"
  openssl x509 -req -in "$dir/kafka.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 825 \
    -extfile "$dir/kafka.ext" -out "$dir/kafka.pem" 2>/dev/null
  openssl pkcs12 -export -name kafka -inkey "$dir/kafka.key" -in "$dir/kafka.pem" -certfile "$dir/ca.pem" \
    -out "$dir/kafka.p12" -passout "pass:$KAFKA_KEYSTORE_PASSWORD"
  rm -f "$dir/kafka.key" "$dir/kafka.csr" "$dir/kafka.ext" "$dir/ca.srl"
  added+=("secrets/kafka.p12 (the broker's certificate for $host)")
fi
if [ ! -f "$dir/web.yml" ]; then
  hash="$(MONITORING_PASSWORD="$MONITORING_PASSWORD" python3 -W ignore -c \
    'import crypt, os; print(crypt.crypt(os.environ["MONITORING_PASSWORD"], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')"
  case "$hash" in '$2'*) ;; *) echo "secrets.sh: this python3's crypt() has no bcrypt; write secrets/web.yml yourself (htpasswd -nBC 10 witness-monitor)" >&2; exit 1 ;; esac
  printf '# Basic auth of Prometheus and Alertmanager (--web.config.file). The password: MONITORING_PASSWORD in .env.\nbasic_auth_users:\n  witness-monitor: %s\n' "$hash" >"$dir/web.yml"
  added+=("secrets/web.yml")
fi
# Prometheus reads the password from a file to scrape itself and Alertmanager and to send alerts.
if [ ! -f "$dir/monitoring_password" ]; then printf '%s' "$MONITORING_PASSWORD" >"$dir/monitoring_password"; fi
chmod 644 "$dir/kafka.p12" "$dir/web.yml" "$dir/monitoring_password" "$dir/ca.pem"

if [ "${#added[@]}" -gt 0 ]; then
  echo "secrets.sh: created (only this user can read $env_file and $dir):"
  printf '  %s\n' "${added[@]}"
fi
