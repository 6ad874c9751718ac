"""GDPR documents: the Art. 30 record of processing and the data-subject requests (Art. 15, 17, 20)."""
