"""Helpers the tests share that are neither fixtures nor builders (local servers, for one)."""
