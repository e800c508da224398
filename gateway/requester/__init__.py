"""The NSI requester role: connections reserved at NSI providers, ours and peers'."""
