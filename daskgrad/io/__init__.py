"""Where data lives and how outputs are written: locations, atomic targets, the writer, input
checks."""
