# kvmstate developer entry points.
#   make setup   Debian packages, qemu.conf, .venv (idempotent, fast when done)
#   make demo    run scripts/demo against the host's libvirtd
#   make test    build the test guest (.cache/guest), run pytest next to a private, throw-away libvirtd
#   make clean   remove .venv

SHELL := /bin/bash
PYTEST_ARGS ?= -q

.PHONY: all setup demo test clean

all: test

setup:
	scripts/host-setup

demo: setup
	scripts/host-libvirtd
	scripts/demo

test: setup
	scripts/build-test-guest
	scripts/private-libvirtd .venv/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf .venv
