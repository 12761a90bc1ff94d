"""The OAuth 2 authorization server: tokens, sign-in and consent, clients."""
