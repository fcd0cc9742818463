"""One customer, one ID: contact sources, standardisation, scored matching, a review queue, merges."""
