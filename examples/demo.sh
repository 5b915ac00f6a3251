#!/usr/bin/env bash
# The sample portfolio end to end: a database of its own, the imports, two accounts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${ARREARS_DEMO_DIR:-$here/../.demo}"
mkdir -p "$work"
rm -f "$work/demo.db"
export ARREARS_DB="sqlite:///$work/demo.db"
date=2026-11-28
uv run arrears db upgrade
uv run arrears import products "$here/products.toml" --date "$date"
uv run arrears import borrowers "$here/borrowers.csv" --date "$date"
uv run arrears import references "$here/references.csv" --date "$date"
uv run arrears import loans "$here/loans.csv" --date "$date"
uv run arrears import payments "$here/payments.csv" --date "$date"
uv run arrears import adjustments "$here/adjustments.csv" --date "$date"
uv run arrears import contacts "$here/contacts.csv" --date "$date"
uv run arrears import flags "$here/flags.csv" --date "$date"
uv run arrears import agents "$here/agents.csv" --date "$date"
uv run arrears close-day --date "$date"
uv run arrears account L001 --locale zh-CN
uv run arrears account L004
# The next day's proposed contacts through the compliance engine (decisions and why: .demo/decisions.csv)
uv run arrears policy check --date 2026-11-29 --actions "$here/actions.csv" --out "$work/decisions.csv"
uv run arrears audit verify
