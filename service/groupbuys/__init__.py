"""拼团 (group-forming offers): an offer with a group size N; orders form groups that succeed at
their N-th paid member, or end at their window (or the batch's cutoff) by the offer's rule."""
