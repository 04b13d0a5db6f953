#!/bin/sh
# Install what the real-container tests need (podman, runc, busybox-static) and the real-terminal
# test needs (tmux), when we can.
# Fast and silent when they are already there; never fatal: without root or apt the container
# tests report in one line why they cannot run.
missing=""
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing="$missing runc"
if command -v dpkg-query >/dev/null 2>&1; then  # a dynamic busybox would not run in the image
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing="$missing busybox-static"
else
    [ -x /bin/busybox ] || missing="$missing busybox-static"
fi
command -v tmux >/dev/null 2>&1 || missing="$missing tmux"  # tests/cli/test_terminal.py
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_podman: not root or no apt-get; container tests will say why they cannot run (missing:$missing)" >&2
    exit 0
fi
echo "install_podman: installing$missing" >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null 2>&1; then
    echo "install_podman: apt-get install$missing failed; container tests will say why they cannot run" >&2
fi
exit 0
