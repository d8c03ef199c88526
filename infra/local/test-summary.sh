#!/usr/bin/env bash
# Passes cargo test's output through and ends it with one line totalling every test binary:
#   tests: N passed, N failed
# Exit status is cargo's (the Makefile runs this in a pipefail shell).
awk '
  { print }
  /^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i) ~ /^passed;?$/) passed += $(i-1)
      if ($(i) ~ /^failed;?$/) failed += $(i-1)
    }
  }
  END { printf "tests: %d passed, %d failed\n", passed, failed }
'
