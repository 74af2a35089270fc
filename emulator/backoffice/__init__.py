"""The DCC back office: DUIS XML, XML signatures, eligibility, DUIS → GBCS (docs/backoffice.md)."""
