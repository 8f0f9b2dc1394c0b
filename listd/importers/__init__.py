"""Moving in from another list server: read its list, create it here through listd's operations."""
