# Domestique — development commands. Everything runs inside the Debian trixie development root
# (.devroot/), built once with debootstrap and cached in $(DEVROOT_CACHE). Needs root.
#   make run [PORT=8123]        serve the app on 0.0.0.0:$(PORT) with PostgreSQL under data/
#   make test [ARGS='-k name']  the whole test suite (unit, integration, web, browser)
#   make shell                  a shell in the root, database started, psql ready
#   make exec CMD='...'         one command in the root, database started
#   make bench [ONLY=name]      benchmarks; figures written to data/bench/latest.json
#   make bench SMOKE=1          every group on tiny inputs (CI's check that the harness runs)
#   make i18n                   extract, update and compile the ko/en message catalogs
#   make lint                   ruff check, ruff format --check, pip-audit of the lock files
#   make lock [UPGRADE=1]       rewrite requirements.lock and requirements-dev.lock from
#                               pyproject.toml (UPGRADE=1: newest versions the pins allow)
#   make devroot                build (or reuse) the development root only
.PHONY: run test shell exec bench i18n lint lock devroot clean-devroot

PORT ?= 8000
ARGS ?=
CMD ?=
ONLY ?=
SMOKE ?=
UPGRADE ?=
AUDIT_REQUIRED ?=
# Pass CMD and ARGS through as typed: make must not expand the $VARS inside them.
override CMD := $(value CMD)
override ARGS := $(value ARGS)
DEVROOT_CACHE ?= /var/cache/domestique-devroot
export PORT ARGS CMD ONLY SMOKE UPGRADE AUDIT_REQUIRED DEVROOT_CACHE

ENTER = .devroot/enter

run:
	@$(ENTER) run

test:
	@$(ENTER) test

shell:
	@$(ENTER) shell

exec:
	@$(ENTER) exec

bench:
	@$(ENTER) bench

i18n:
	@$(ENTER) i18n

lint:
	@$(ENTER) lint

lock:
	@$(ENTER) lock

devroot:
	@$(ENTER) noop

clean-devroot:
	rm -rf --one-file-system $(DEVROOT_CACHE)
