"""`make bench` and `make demo`: kept outside the package, so they never ship in the wheel and write only
where they are told (BENCHMARKS.md and demo-output/ in the current folder by default)."""
