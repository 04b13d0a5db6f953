#!/bin/sh
# fake processing of a scatter manifest: how many annotation files it lists
set -eu
echo "annotation files: $(grep -o 'annots.gff' "$1" | wc -l)"
