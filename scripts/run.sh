#!/usr/bin/env bash
# `make run`: broker, migrations and demo users, then every process of Procfile.dev under honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(pwd)/${VENV:-.venv}/bin"
export PATH="$BIN:$PATH"

# honcho reads .env for the processes; read it here too so migrate uses the same DATABASE_URL.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
# Explicit on purpose: config.wsgi and celery_app default to production settings, which refuse
# the simulator and the development key (Procfile.dev names it on every line as well).
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
# The braintree SDK applies the environment's proxy even to http://127.0.0.1, the simulator.
unset http_proxy HTTP_PROXY
export WEB_PORT="${WEB_PORT:-8000}"
export BRAINTREE_SIMULATOR_URL="${BRAINTREE_SIMULATOR_URL:-http://127.0.0.1:8600}"
gateway_port="${BRAINTREE_SIMULATOR_URL##*:}"
export GATEWAY_PORT="${gateway_port%%/*}"

python scripts/dev_redis.py ensure
trap 'python scripts/dev_redis.py stop' EXIT

# Web and workers share one prometheus_client multiprocess directory, so /metrics shows the
# workers' gateway and retry metrics too; it must start empty on every run.
export PROMETHEUS_MULTIPROC_DIR="$(pwd)/.run/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

python manage.py migrate --noinput
# Keeps the demo token (and a generated admin password) in .run/ for the banner and `make demo`.
python manage.py bootstrap_demo --base-url "http://127.0.0.1:$WEB_PORT" --run-dir .run
# What the last run left on the broker (the banner says it, and why it is harmless).
python scripts/ready_banner.py --queued > .run/queued-at-start || echo "{}" > .run/queued-at-start
procfile=Procfile.dev
if [ "${FLOWER:-}" = "1" ]; then
  # honcho reads one Procfile: Procfile.dev plus the Flower line.
  mkdir -p .run && cat Procfile.dev Procfile.flower > .run/Procfile.flower
  procfile=.run/Procfile.flower
fi
echo "Starting web (http://127.0.0.1:$WEB_PORT), worker, default, beat, gateway; Ctrl-C stops them."
echo "The token, logins and URLs are printed again once every process answers."
# The box comes last, after the processes' own banners: it waits for /healthz, the simulator
# and a ping from both workers.
FLOWER="${FLOWER:-}" python scripts/ready_banner.py &
banner_pid=$!
trap 'kill "$banner_pid" 2>/dev/null; python scripts/dev_redis.py stop' EXIT
honcho -f "$procfile" -d . start
