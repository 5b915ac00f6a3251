"""The compliance engine's shell: proposed-action files in and out, the world read from the store,
decisions recorded in the audit log. The rules themselves are in ``arrears.policy.check``."""
