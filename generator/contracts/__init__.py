"""Contract emitters: each a pure function of the IR to the text of one contract."""
