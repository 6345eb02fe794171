"""Tests of create, generate, voices, models and download (issue 4)."""
