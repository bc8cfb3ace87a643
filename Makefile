# kvmstate developer entry points.
#   make setup   Debian packages, qemu.conf, .venv (idempotent, fast when done)
#   make demo    run scripts/demo against the host's libvirtd
#   make test    build the test guest (.cache/guest), run pytest next to a private, throw-away libvirtd
#   make bench   the benchmark (bench/): kvmstate vs libvirt-python scripts (sequential, 10 threads) vs Ansible, on a private libvirtd
#   make clean   remove .venv

SHELL := /bin/bash
PYTEST_ARGS ?= -q

.PHONY: all setup demo test bench clean

all: test

setup:
	scripts/host-setup

demo: setup
	scripts/host-libvirtd
	scripts/demo

test: setup
	scripts/build-test-guest
	scripts/private-libvirtd .venv/bin/python -m pytest $(PYTEST_ARGS)

bench: setup bench/.venv-ansible/bin/ansible-playbook
	scripts/private-libvirtd .venv/bin/python -m bench

# Ansible for the comparison only, in its own venv (never one of kvmstate's dependencies).
bench/.venv-ansible/bin/ansible-playbook:
	python3 -m venv bench/.venv-ansible
	bench/.venv-ansible/bin/pip install -q ansible libvirt-python lxml

clean:
	rm -rf .venv
