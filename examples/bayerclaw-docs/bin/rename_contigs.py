#!/bin/sh
# fake renamer: prefixes every contig name of $1
set -eu
sed 's/^>/>renamed_/' "$1"
