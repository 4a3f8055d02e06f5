"""Code generated from openapi/openapi.yaml by scripts/regenerate; do not edit."""
