"""A lead's lifecycle: the stages, the one transition table, and the only writer of stage and owner."""
