"""Generated from protos/; run `make generate` instead of editing."""
