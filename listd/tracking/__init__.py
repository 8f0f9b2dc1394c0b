"""Optional link tracking (the list setting `tracking`): signed redirects, clicks counted."""
