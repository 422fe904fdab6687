"""Reports for leadership: the view model and its renderers (scorecard, digest, web view)."""
