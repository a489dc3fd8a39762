"""Group leaders, their pickup points and community groups."""
