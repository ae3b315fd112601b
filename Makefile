# The two commands a new user needs: `make demo` and `make test`. Everything beyond the Rust
# toolchain and Python 3 is installed, pinned, into .venv.

CARGO_LAMBDA_VERSION := 1.9.2
VENV := .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: venv venv-demo demo test infra-test lint bench build clean

## What the demo needs (moto for ECR, cargo-lambda): some 170 MB.
venv-demo: $(VENV)/.demo-installed

$(VENV)/.demo-installed: requirements-demo.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-demo.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps cargo-lambda==$(CARGO_LAMBDA_VERSION)
	touch $@

## Everything the tests need on top: the whole moto server, checkov, cfn-lint.
venv: $(VENV)/.installed

$(VENV)/.installed: $(VENV)/.demo-installed requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Run every sample event through the Lambda (cargo lambda watch + invoke) against a local moto.
demo: venv-demo
	bash scripts/demo.sh

## What CI runs: formatting, lints, unit and integration tests (moto and cargo-lambda included),
## then the infrastructure checks (terraform against moto, event patterns, checkov, cfn-lint).
test: venv lint
	cargo test
	$(MAKE) infra-test

infra-test: venv
	$(VENV)/bin/python infra/tests/check_infra.py

## Benchmarks: the pure decision path (criterion) and sweeps of 1,000 and 5,000 repositories on moto.
bench: venv-demo
	cargo bench --bench decide
	cargo bench --bench sweep

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

## The Lambda bootstrap, natively for this machine (see the README for arm64).
build: venv-demo
	cargo lambda build --release --compiler cargo

clean:
	rm -rf $(VENV) target
