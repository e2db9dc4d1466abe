"""The attacker's catalogue: hostile samples built from specifications and public write-ups,
and an inspector written for the tests that accepts only what it knows to be harmless."""
