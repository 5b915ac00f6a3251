# make setup | test | demo | lint
# Works on a fresh machine: `setup` installs uv with pip when it is missing, then syncs the lock file.

SHELL := /bin/bash
# pip --user puts uv here; make sure later recipes find it.
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: setup test demo lint

setup:
	@if ! command -v uv >/dev/null 2>&1; then \
		echo "uv not found: installing it with pip"; \
		python3 -m pip install uv \
			|| python3 -m pip install --break-system-packages uv; \
	fi
	@# Bytecode is compiled here, once, rather than by every command's first imports (some
	@# environments set PYTHONDONTWRITEBYTECODE, and then every run compiles everything again).
	uv sync --frozen --compile-bytecode
	@uv run python -m compileall -q src

# pytest exit 5 means "no tests collected": a test run that runs no test proves nothing, so say so.
test: setup
	@uv run pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "ERROR: pytest collected no tests (exit 5); treating this as a failure." >&2; \
	fi; \
	exit $$rc

# The sample files end to end, then the one-command demo: a simulated 20,000-loan book.
demo: setup
	bash examples/demo.sh
	uv run arrears demo --no-serve

lint: setup
	uv run ruff check src tests
