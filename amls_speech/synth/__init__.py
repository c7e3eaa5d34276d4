"""Speech synthesisers used to build the embedded, synthetic stand-in corpora."""
