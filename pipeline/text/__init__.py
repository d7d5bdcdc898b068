"""What the stages read in a response's text, shared by them: sentence boundaries
(:mod:`.sentences`), who speaks (:mod:`.speakers`: the organisation, its boards, quoted
parties) and blanket clauses that answer every proposal at once (:mod:`.blanket`)."""
