#!/bin/sh
# autogen.sh -- generate configure and Makefile.in
set -e
cd "$(dirname "$0")"
autoreconf -fi
