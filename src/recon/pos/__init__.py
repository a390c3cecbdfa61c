"""The POS (Sitoo) side's business rules, shared by the sync and the collect."""
