"""bysecond: usage billing by the second."""
