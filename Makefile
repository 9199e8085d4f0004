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

# Proofs made inside ape's test process run inline: forking a process that holds the provider's
# threads can deadlock (the demo and the scripts prove with two processes).
test-devnet:
	@$(ENV) ZKMARGIN_PROVER_PROCESSES=1 ape test tests/devnet -q -p no:cacheprovider --network $(NETWORK)

bench: bootstrap
	@$(ENV) for b in bench/bench_*.py; do python "$$b" || exit 1; done

lock: bootstrap
	@.venv/bin/pip freeze --exclude-editable | grep -v '^zkmargin' | sed '1i # Exact versions of every Python package, frozen from a working install (pip freeze).\n# bin/bootstrap installs with `-c requirements.lock`; regenerate with `make lock`.' > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf .build .toolchain .venv node_modules
