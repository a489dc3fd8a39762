"""Social growth: share links and posters, referral attribution, two-level distribution."""
