#!/usr/bin/env bash
# restic-manager agent installer (docs/agent.md "Deployment").
#
#   curl -fsSL https://backup.example.org/install/install.sh | sudo RM_TOKEN=<token> bash
#
# The server serves this file at /install/install.sh with the RM_BASE_URL default below set to its own
# base URL. What it does, in order (each step is skipped when already done):
#   1. installs restic with apt-get when it is missing;
#   2. checks for Node.js >= 20 (installs the distribution's nodejs with apt-get when that is
#      new enough; otherwise stops and says how to get it);
#   3. installs the agent from <server>/install/agent.tgz into /usr/local/lib/restic-manager-agent;
#   4. enrolls the host with RM_TOKEN (skipped when /var/lib/restic-manager/agent.yaml exists);
#   5. installs and starts the systemd unit restic-manager-agent.service.
#
# Environment:
#   RM_TOKEN        one-time enrollment token from "Add host" (required for a first install)
#   RM_BASE_URL     server base URL (default: the server that served this script)
#   RM_CERT_PIN     optional SHA-256 of the server's TLS certificate, pinned by the agent
#   RM_AGENT_TGZ    optional path or URL of the agent tarball (default $RM_BASE_URL/install/agent.tgz)
#   RM_NO_START=1   install and enroll, but do not enable/start the service
set -euo pipefail

RM_BASE_URL="${RM_BASE_URL:-__RM_BASE_URL__}"
RM_AGENT_TGZ="${RM_AGENT_TGZ:-${RM_BASE_URL%/}/install/agent.tgz}"
# Paths are overridable for tests; the systemd unit expects the defaults.
PREFIX="${RM_PREFIX:-/usr/local/lib/restic-manager-agent}"
BIN="${RM_BIN:-/usr/local/bin/restic-manager-agent}"
STATE_DIR="${RM_STATE_DIR:-/var/lib/restic-manager}"
CONFIG_DIR="${RM_CONFIG_DIR:-/etc/restic-manager}"
UNIT="${RM_UNIT:-/etc/systemd/system/restic-manager-agent.service}"

say() { printf 'restic-manager: %s\n' "$*"; }
die() { printf 'restic-manager: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (the agent service runs as root, sandboxed by systemd)"
case "$RM_BASE_URL" in
  http://*|https://*) ;;
  *) die "RM_BASE_URL is not set to the server's URL (got '$RM_BASE_URL')" ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  have apt-get || return 1
  if [ "$apt_updated" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# 1. restic
if have restic; then
  say "restic present: $(restic version | head -n1)"
else
  say "installing restic"
  apt_install restic || die "restic is missing and apt-get is not available; install restic >= 0.14 and re-run"
fi

# 2. Node.js >= 20
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! have node || [ "$(node_major)" -lt 20 ]; then
  say "Node.js >= 20 not found; trying the distribution package"
  apt_install nodejs npm || true
fi
if ! have node || [ "$(node_major)" -lt 20 ]; then
  die "the agent needs Node.js >= 20 (found: $(node --version 2>/dev/null || echo none)). Install it (e.g. https://nodejs.org or your distribution's backports) and re-run"
fi
have npm || apt_install npm || die "npm is missing; install npm and re-run"

# 3. the agent
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
case "$RM_AGENT_TGZ" in
  http://*|https://*)
    say "downloading the agent from $RM_AGENT_TGZ"
    curl -fsSL -o "$tmp/agent.tgz" "$RM_AGENT_TGZ" || die "cannot download $RM_AGENT_TGZ"
    ;;
  *) cp "$RM_AGENT_TGZ" "$tmp/agent.tgz" ;;
esac
mkdir -p "$PREFIX"
# The vault engine's dependencies are optional (two are native modules: a prebuilt binary is
# downloaded from GitHub, else compiled with make/g++/python3). When they fail, npm leaves them
# out and the agent runs restic jobs without announcing "vault" (docs/agent.md "Vault engine").
npm install --global --prefix "$PREFIX" --omit=dev --no-audit --no-fund --loglevel=error "$tmp/agent.tgz"
mkdir -p "$(dirname "$BIN")"
ln -sf "$PREFIX/bin/restic-manager-agent" "$BIN"
version="$("$BIN" version)"
say "installed $version"
case "$version" in
  *"vault engine available"*) ;;
  *) say "vault jobs are off on this host (restic jobs work); to enable them install make, g++ and python3 (or allow downloads from github.com) and re-run" ;;
esac

# 4. enrollment
install -d -m 0700 "$STATE_DIR" "$CONFIG_DIR"
if [ -f "$STATE_DIR/agent.yaml" ]; then
  say "already enrolled ($STATE_DIR/agent.yaml exists); keeping that identity"
else
  [ -n "${RM_TOKEN:-}" ] || die "RM_TOKEN is not set: create a token with 'Add host' in the web UI"
  pin_args=()
  if [ -n "${RM_CERT_PIN:-}" ]; then pin_args=(--cert-pin "$RM_CERT_PIN"); fi
  # The token reaches the agent through its environment, never argv.
  RM_TOKEN="$RM_TOKEN" "$BIN" enroll --server "$RM_BASE_URL" --state-dir "$STATE_DIR" "${pin_args[@]}"
fi

# 5. the service
unit_src="$PREFIX/lib/node_modules/restic-manager-agent/deploy/restic-manager-agent.service"
[ -f "$unit_src" ] || die "the agent package has no systemd unit at $unit_src"
install -m 0644 "$unit_src" "$UNIT"
if [ "${RM_NO_START:-0}" = "1" ] || ! have systemctl || [ ! -d /run/systemd/system ]; then
  say "systemd is not running here (or RM_NO_START=1): start the agent with '$BIN run'"
  exit 0
fi
systemctl daemon-reload
systemctl enable --now restic-manager-agent.service
sleep 2
if "$BIN" health-check --state-dir "$STATE_DIR"; then
  say "the agent is running and connected"
else
  say "the agent started but is not connected yet; see 'journalctl -u restic-manager-agent'"
fi
