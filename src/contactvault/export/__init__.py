"""Writers: vCard (full and, later, minimal) and other formats."""
