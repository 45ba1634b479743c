"""`POST /webhook`: GitHub's deliveries verified, read, recorded and queued, in milliseconds."""
