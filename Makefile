# The two commands a new user needs: `make demo` and `make test`. Everything beyond the Rust
# toolchain and Python 3 is installed, pinned, into .venv.

CARGO_LAMBDA_VERSION := 1.9.2
VENV := .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: venv venv-demo demo test infra-test readme-test lint bench build install clean

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
## Exits non-zero, naming each event, when an invocation fails or outlives DEMO_INVOKE_TIMEOUT
## (seconds, 120); files changed in the checkout meanwhile do not reload the function.
demo: venv-demo
	bash scripts/demo.sh

## What CI runs: formatting, lints, unit and integration tests (moto and cargo-lambda included),
## the README's emulator blocks as written, then the infrastructure checks (terraform against
## moto, event patterns, checkov, cfn-lint).
test: venv lint
	cargo test
	$(MAKE) readme-test
	$(MAKE) infra-test

## The documentation's command blocks (README.md, docs/, CONTRIBUTING.md): the emulator blocks run as
## written, make targets and rules files checked, and every other command block marked as needing AWS.
readme-test: venv
	$(VENV)/bin/python scripts/check_readme.py

## The single-account example is applied with the zip `make build` made: no manual step between.
infra-test: venv build
	$(VENV)/bin/python infra/tests/check_infra.py

## Benchmarks: the pure decision path (criterion) and sweeps of 1,000 and 5,000 repositories on moto.
bench: venv-demo
	cargo bench --bench decide
	cargo bench --bench sweep

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

## What the Terraform module consumes by default: the Lambda binary alone, zipped as
## target/lambda/ecr-policy-remediator-lambda/bootstrap.zip, x86_64 (Cargo.toml sets cargo-lambda's
## compiler to the host's cargo). arm64 needs zig and the aarch64 Rust target, which no pinned tool
## here provides (docs/deploying.md).
build: venv-demo
	cargo lambda build --release --bin ecr-policy-remediator-lambda --output-format zip

## The command line on the PATH: ~/.cargo/bin/ecr-policy-remediator.
install:
	cargo install --locked --path . --bin ecr-policy-remediator

clean:
	rm -rf $(VENV) target
