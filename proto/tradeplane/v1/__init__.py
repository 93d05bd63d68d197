"""Generated from the .proto files next to this file by `make proto`; do not edit by hand."""
