"""RG2xx: writes whose failure, or partial success, is lost without anyone being told."""
