# zkmargin: the two commands of the README, and the parts they are made of.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := source .toolchain/env &&
NETWORK ?= ethereum:local:foundry

.PHONY: help bootstrap demo test test-unit test-devnet bench lock clean

help:
	@echo "make demo   - set up, start a local devnet and run the end-to-end demo"
	@echo "make test   - set up and run every test (pure unit tests, then devnet tests)"
	@echo "make bench  - run the benchmarks under bench/"

bootstrap:
	@bin/bootstrap

demo: bootstrap
	@$(ENV) ape run demo --network $(NETWORK)

test: bootstrap test-unit test-devnet

test-unit:
	@$(ENV) python -m pytest -p no:ape_test -p no:cacheprovider tests/unit -q

# No prover setting is needed inside ape's test process: batches of proofs go to forkserver
# workers (never forked from the multi-threaded test process), a single native proof runs its
# MSMs in threads, and the python backend forks only from a single-threaded process.
test-devnet:
	@$(ENV) ape test tests/devnet -q -p no:cacheprovider --network $(NETWORK)

bench: bootstrap
	@$(ENV) for b in bench/bench_*.py; do python "$$b" || exit 1; done

lock: bootstrap
	@.venv/bin/pip freeze --exclude-editable | grep -v '^zkmargin' | sed '1i # Exact versions of every Python package, frozen from a working install (pip freeze).\n# bin/bootstrap installs with `-c requirements.lock`; regenerate with `make lock`.' > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf .build .toolchain .venv node_modules
