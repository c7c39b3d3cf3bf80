#!/bin/sh
# Installs what the docker_executor engine tests need (Debian, as root): dockerd, a static busybox
# for the test image, and the distribution registry for the pull tests. The tests never install
# anything themselves: without these they are skipped, naming this script.
set -eu
if command -v dockerd >/dev/null && dpkg -s busybox-static >/dev/null 2>&1 && [ -x /usr/bin/docker-registry ]; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static docker-registry
