# SPDX-License-Identifier: MIT
"""blinkbench: the timing and scale benchmark of blinkd; bench/run is its command."""
