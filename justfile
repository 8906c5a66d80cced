# Everyday recipes. `python3 -m uv run just <recipe>` works on a fresh machine (see README).

set shell := ["bash", "-euo", "pipefail", "-c"]

# list the recipes
default:
    @just --list

# serve the agent (embedded default: SQLite, mock PMS, demo hotel, web chat at /)
serve *args:
    agente serve {{args}}

# run a message worker process (production: PostgreSQL, several of these)
worker *args:
    agente worker {{args}}

# chat with the agent in the terminal (--jsonl for scripts)
chat *args:
    agente chat {{args}}

# apply database migrations (AGENTE_DATABASE_URL)
migrate *args:
    agente migrate {{args}}

# start PostgreSQL and Redis when they are down (this machine's services)
services:
    bash .ci/services

# the test suite (SQLite, PostgreSQL and Redis); pass pytest arguments after it
test *args:
    pytest {{args}}

# lint and check formatting (the Dockerfiles with hadolint)
lint:
    ruff check agente plugins tests bench migrations .ci
    ruff format --check agente plugins tests bench migrations .ci
    hadolint deploy/fly/Dockerfile deploy/compose/qloapps/Dockerfile

# format the code
fmt:
    ruff format agente plugins tests bench migrations .ci
    ruff check --fix agente plugins tests bench migrations .ci

# type-check the core and the plugins
typecheck:
    mypy

# benchmarks (print figures; never part of the test suite)
bench *args:
    python bench/webchat_throughput.py {{args}}

# speed of understanding: understand() per core and `agente understand --jsonl`
bench-nlu *args:
    python bench/nlu_speed.py {{args}}

# retrain the understanding models from agente/pipeline/data/train.jsonl (deterministic)
train-nlu:
    agente nlu train --calibrate tests/nlu/dev.jsonl

# evaluate understanding: per-intent P/R/F1, macro-F1 per language, entity exact-match
eval-nlu *files:
    agente nlu eval {{ if files == "" { "tests/nlu/dev.jsonl tests/nlu/test.jsonl" } else { files } }}

# Debian's Chromium for the dashboard's browser test (installed when missing; needs root)
browser:
    command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Debian's Prometheus and Alertmanager: promtool and amtool for the rule tests, and the real
# Prometheus the end-to-end observability test starts (installed when missing; needs root)
prometheus:
    command -v promtool >/dev/null && command -v amtool >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null)

# Debian's dovecot for the e-mail channel's IMAP tests (installed when missing; needs root)
mail:
    command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null)

# render the Prometheus rules from SLO_TARGET and Alertmanager's configuration from the environment
observability *args:
    agente observability render {{args}}

# check and unit-test the alerting rules and Alertmanager's configuration
check-rules:
    promtool check rules observability/prometheus/rules/agente.rules.yml
    promtool test rules observability/prometheus/tests/alerts.test.yml
    amtool check-config observability/alertmanager/alertmanager.yml

# the suite with coverage, then the floors: 70% overall, 85% in each critical area
coverage *args:
    pytest -q --cov --cov-report=json:coverage.json --cov-report=term:skip-covered {{args}}
    python .ci/coverage_gate.py coverage.json

# known vulnerabilities in the locked dependencies (pip-audit); --strict fails when unaudited
audit *args:
    python .ci/audit.py {{args}}

# back up the database and its stored media (AGENTE_BACKUP_TO: a directory or s3://…)
backup *args:
    agente backup {{args}}

# the weekly maintenance: retention, personal data of closed conversations, leases, VACUUM
maintenance *args:
    agente maintenance {{args}}

# time a backup and a restore of a database of 100,000 messages (PostgreSQL and SQLite)
bench-backup *args:
    python bench/backup_restore.py {{args}}

# everything CI runs: services, the browser, lint, types, the whole suite with coverage and
# its floors, the dependency audit (CI=true: no integration test may skip)
ci: services browser prometheus mail lint typecheck coverage audit

# the pre-release check in one command: lint, types, rules, the suite with coverage, and a
# strict audit (it fails when the advisories cannot be reached: run it where they can)
verify: services browser prometheus mail lint typecheck check-rules coverage
    python .ci/audit.py --strict
