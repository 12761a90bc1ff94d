"""Users: registration, profiles, and their administration."""
