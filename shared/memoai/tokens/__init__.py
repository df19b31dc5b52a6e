"""Personal access tokens for integrators (`mac_…`): created, listed, revoked, resolved."""
