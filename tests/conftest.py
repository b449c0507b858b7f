"""Shared test configuration."""

from hypothesis import HealthCheck, settings

# Tests never depend on timing: a slow CI machine or a JIT compile must not fail them.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
