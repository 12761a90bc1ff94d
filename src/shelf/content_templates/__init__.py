"""The templates resource: named text templates, in the older template service's table layout."""
