"""Protocol dissectors and identification rules: packets in, observations and findings out."""
