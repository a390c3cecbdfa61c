"""recon: posts Sitoo POS sales to the ERP and reconciles both sides."""
