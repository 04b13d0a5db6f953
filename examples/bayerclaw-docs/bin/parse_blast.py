#!/bin/sh
# fake parser: the hits of $1, one per line, prefixed
set -eu
sed 's/^/hit: /' "$1"
