"""Distribution: rendering, the outbound queue, and the workers that deliver it."""
